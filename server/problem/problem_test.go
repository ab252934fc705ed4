package problem_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kpilot/kpilot/server/problem"
)

func TestKindOf(t *testing.T) {
	require.Equal(t, problem.NotFound, problem.KindOf(fmt.Errorf("loading: %w", problem.ErrNotFound)))
	require.Equal(t, problem.Kind(0), problem.KindOf(errors.New("plain")))
	e := &problem.Error{Kind: problem.Unavailable, Msg: "store is unavailable", Err: errors.New("disk I/O error")}
	require.Equal(t, "store is unavailable: disk I/O error", e.Error(), "the cause is in Error for the log")
	require.ErrorContains(t, fmt.Errorf("x: %w", e), "disk I/O error")
	require.Equal(t, `name "a": too long`, problem.Invalidf("name %q: too long", "a").Msg)
}
