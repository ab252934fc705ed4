package agent

import (
	"context"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The agent's soft memory limit (soft_memory_limit_mb). Go's garbage
// collector lets the heap grow to twice what is live before it collects
// (GOGC=100). For the agent that doubling is most of its memory: after a
// poll, what is live is the collectors' state and a few buffers, and the
// rest is garbage of the polls (decoded packets, encoded lines) waiting
// for the next collection. A soft memory limit (runtime/debug's
// SetMemoryLimit) makes the collector run as the process nears it, on
// top of GOGC, so it can only make memory smaller, at the cost of more
// frequent collections.
//
// Automatic (0, the default), the agent sets the limit to the heap live
// after the last collection, plus headroom, plus the runtime's own memory
// (stacks, metadata), and follows it every memLimitEvery: the heap grows by
// the headroom between collections instead of by what is live. The
// headroom is three quarters of what is live, at least minHeadroom: like
// GOGC=75, but never so small that the collector runs all the time when
// little is live. (Half was tried: 78 MB instead of 86 at 1,000
// devices, but about 25% more CPU a cycle than Go's default pacing.) A
// fixed value sets that limit; -1 leaves Go's default (no limit).
// GOMEMLIMIT in the environment takes precedence over all of it.
const (
	memLimitEvery = 2 * time.Second
	minHeadroom   = 16 << 20
)

// memLimitSamples are the runtime metrics the automatic limit reads.
var memLimitSamples = []string{
	"/gc/heap/live:bytes",
	"/memory/classes/total:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
}

// limitMemory applies soft_memory_limit_mb until ctx is done, and then
// puts back the limit it found.
func limitMemory(ctx context.Context, mb int, log *slog.Logger) {
	if os.Getenv("GOMEMLIMIT") != "" || mb < 0 {
		return
	}
	prev := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(prev)
	if mb > 0 {
		debug.SetMemoryLimit(int64(mb) << 20)
		log.Debug("soft memory limit set", "limit_mb", mb)
		<-ctx.Done()
		return
	}
	samples := make([]metrics.Sample, len(memLimitSamples))
	for i, name := range memLimitSamples {
		samples[i].Name = name
	}
	t := time.NewTicker(memLimitEvery)
	defer t.Stop()
	for {
		debug.SetMemoryLimit(autoMemoryLimit(samples))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// autoMemoryLimit is the automatic limit: live heap plus headroom plus
// what the runtime holds besides the heap, as the limit counts it (all
// memory the runtime has mapped, less what it gave back to the OS).
func autoMemoryLimit(samples []metrics.Sample) int64 {
	metrics.Read(samples)
	v := make([]int64, len(samples))
	for i, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			v[i] = int64(s.Value.Uint64())
		}
	}
	live, total, released, objects, unused, free := v[0], v[1], v[2], v[3], v[4], v[5]
	return memoryLimit(live, objects, max(total-released-objects-unused-free, 0))
}

// memoryLimit is the automatic limit for a heap of which live bytes were
// live after the last collection and objects are allocated now, and for
// runtimeOwn bytes the runtime holds besides the heap. When the heap has
// grown past live plus headroom since the last collection (the first
// polls, building every target's state), the limit is put above it, by
// half the headroom: a limit below the heap makes the collector run
// without pause until the next update.
func memoryLimit(live, objects, runtimeOwn int64) int64 {
	headroom := max(live*3/4, minHeadroom)
	limit := live + headroom
	if objects > limit {
		limit = objects + headroom/2
	}
	return limit + runtimeOwn
}
