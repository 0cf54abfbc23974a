package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"
)

// memoryPerBuild is the soft memory limit given to each build a process
// runs at once, unless --memory-limit or GOMEMLIMIT says otherwise. A
// build's memory is mostly its live heap (learner facts, the scrubber's
// roster, k-anonymity's records, the pages in flight); without a limit
// the Go runtime lets garbage grow to as much again before it collects.
// With one, it collects more often as the limit nears, never less than
// it would without one.
const memoryPerBuild = 256 << 20

const memoryLimitUsage = "soft memory limit of the process (e.g. 512MiB, 2GiB; off: none; auto: 256MiB per build run at once, raised to twice the live heap when that needs more, unless GOMEMLIMIT is set). Near it the garbage collector works harder; it is not a cap"

// applyMemoryLimit sets the runtime's soft memory limit from the
// --memory-limit value v for a process running builds builds at once,
// and returns the limit in force (math.MaxInt64: none) and whether it is
// auto's, which watchMemoryLimit should then follow.
func applyMemoryLimit(v string, builds int) (limit int64, auto bool, err error) {
	switch v = strings.TrimSpace(v); v {
	case "auto", "":
		if os.Getenv("GOMEMLIMIT") != "" || builds < 1 {
			return debug.SetMemoryLimit(-1), false, nil // the runtime's, from GOMEMLIMIT or none
		}
		limit, auto = memoryPerBuild*int64(builds), true
	case "off", "0":
		limit = math.MaxInt64
	default:
		n, err := parseBytes(v)
		if err != nil {
			return 0, false, fmt.Errorf("--memory-limit: %w", err)
		}
		limit = n
	}
	debug.SetMemoryLimit(limit)
	return limit, auto, nil
}

// watchMemoryLimit raises auto's limit, from limit, whenever the live
// heap needs more (see nextMemoryLimit), until ctx is done. A build whose
// live heap nears the limit would otherwise spend its time collecting.
func watchMemoryLimit(ctx context.Context, limit int64) {
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		metrics.Read(live)
		if live[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		if next := nextMemoryLimit(int64(live[0].Value.Uint64()), limit); next != limit {
			limit = next
			debug.SetMemoryLimit(limit)
		}
	}
}

// nextMemoryLimit returns auto's limit for a live heap of live bytes:
// limit, until live passes three quarters of it, then twice live (the
// heap the collector would let grow without a limit). It never lowers
// the limit.
func nextMemoryLimit(live, limit int64) int64 {
	if live > limit/4*3 {
		return max(limit, 2*live)
	}
	return limit
}

// parseBytes parses a size: a number of bytes, or a number with one of
// the suffixes B, KiB, MiB, GiB, KB, MB, GB.
func parseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	num, mult := s, int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is not a size (e.g. 512MiB)", s)
	}
	return n * mult, nil
}
