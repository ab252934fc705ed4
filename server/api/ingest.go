package api

import (
	"errors"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/kpilot/kpilot/internal/wire"
	"github.com/kpilot/kpilot/server/ingest"
	"github.com/kpilot/kpilot/server/store"
)

type ingestResponse struct {
	BatchID   string   `json:"batch_id"`
	Status    string   `json:"status"` // stored or duplicate
	Accepted  int      `json:"accepted"`
	Rejected  int      `json:"rejected"`
	Rejection []string `json:"rejections,omitempty"`
}

// ingest hands one agent batch to package ingest. It answers 200 only
// after InfluxDB has confirmed the points and the store has the
// inventory, so the agent may delete the batch; 429 with Retry-After when
// the server already works on as many batches as it allows (or as it
// allows one agent), or another request is storing the same batch id;
// 503 with Retry-After when InfluxDB or the store cannot take it now, or
// the body did not arrive within the body timeout; 413 when it
// is too large (the agent splits it); 400/422 when it will never be
// accepted (the agent drops it).
func (a *API) ingest(w http.ResponseWriter, r *http.Request) error {
	ag, _ := r.Context().Value(agentKey).(store.Agent)
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != wire.ContentType && ct != wire.ContentTypeV1 {
		return &HTTPError{Code: http.StatusUnsupportedMediaType, Msg: "Content-Type must be " + wire.ContentType}
	}
	// Every answer says which codings the server takes (RFC 7694): an
	// agent sends zstd once it has read that, gzip before.
	w.Header().Set("Accept-Encoding", wire.AcceptEncoding)
	coding := r.Header.Get("Content-Encoding")
	if coding != wire.Gzip && coding != wire.Zstd {
		return &HTTPError{Code: http.StatusUnsupportedMediaType, Msg: "Content-Encoding must be " + wire.Zstd + " or " + wire.Gzip}
	}
	version, _ := strings.CutPrefix(r.UserAgent(), "kpilot-agent/")
	// A body sent a few bytes at a time must not hold the connection (and
	// the agent's turn) for the server's whole read timeout.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(a.ingester.BodyTimeout()))
	res, err := a.ingester.Ingest(r.Context(), ag, version, r.Body, coding)
	var (
		unavail   *ingest.UnavailableError
		tooLarge  *ingest.TooLargeError
		malformed *ingest.MalformedError
		refused   *ingest.RefusedError
	)
	switch {
	case errors.Is(err, ingest.ErrBusy):
		return &HTTPError{Code: http.StatusTooManyRequests, RetryAfter: 5 * time.Second, Msg: ingest.ErrBusy.Error()}
	case errors.Is(err, ingest.ErrPending):
		// The other request is about done: the retry is told duplicate.
		return &HTTPError{Code: http.StatusTooManyRequests, RetryAfter: 2 * time.Second, Msg: ingest.ErrPending.Error()}
	case errors.As(err, &tooLarge):
		return &HTTPError{Code: http.StatusRequestEntityTooLarge, Msg: tooLarge.Error()}
	case errors.As(err, &malformed):
		return badRequest("%s", malformed.Error())
	case errors.As(err, &unavail):
		return unavailable(unavail.What, unavail.Err)
	case errors.As(err, &refused):
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": refused.Error(), "rejections": refused.Rejections})
		return nil
	case err != nil:
		return err
	}
	writeJSON(w, http.StatusOK, ingestResponse{BatchID: res.BatchID, Status: string(res.Status),
		Accepted: res.Accepted, Rejected: res.Rejected, Rejection: res.Rejections})
	return nil
}
