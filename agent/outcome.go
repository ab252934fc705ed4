package agent

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/kpilot/kpilot/collectors"
)

// maxPollMessage bounds the message field of agent_poll (the agent poll
// protocol in docs/agent.md).
const maxPollMessage = 500

// pollOutcome classes one poll: its error, or else the partial errors
// its collector reported (partial counts them; first is the first). The
// message is the error's first line, at most maxPollMessage bytes, and
// empty when the poll was ok.
func pollOutcome(err error, partial int, first error) (collectors.Outcome, string) {
	switch {
	case err != nil:
		return collectors.Classify(err), pollMessage(err.Error())
	case partial == 1 && first != nil:
		return collectors.OutcomePartial, pollMessage(first.Error())
	case partial > 0 && first != nil:
		return collectors.OutcomePartial, pollMessage(fmt.Sprintf("%d problems; the first: %s", partial, first))
	case partial > 0:
		return collectors.OutcomePartial, pollMessage(fmt.Sprintf("%d problems", partial))
	}
	return collectors.OutcomeOK, ""
}

// pollMessage is the first line of msg (a panic's stack trace stays in
// the log), cut to maxPollMessage bytes at a character boundary.
func pollMessage(msg string) string {
	msg, _, _ = strings.Cut(strings.TrimSpace(msg), "\n")
	if len(msg) <= maxPollMessage {
		return msg
	}
	const ellipsis = "…"
	cut := maxPollMessage - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + ellipsis
}
