package main

import (
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// memoryPerBuild is the soft memory limit given to each build a process
// runs at once, unless --memory-limit or GOMEMLIMIT says otherwise. A
// build's memory is mostly its live heap (learner facts, the scrubber's
// roster, k-anonymity's records, the pages in flight); without a limit
// the Go runtime lets garbage grow to as much again before it collects.
// With one, it collects more often as the limit nears, never less than
// it would without one.
const memoryPerBuild = 256 << 20

const memoryLimitUsage = "soft memory limit of the process (e.g. 512MiB, 2GiB; off: none; auto: 256MiB per build run at once, unless GOMEMLIMIT is set). Near it the garbage collector works harder; it is not a cap"

// applyMemoryLimit sets the runtime's soft memory limit from the
// --memory-limit value v for a process running builds builds at once,
// and returns the limit in force (math.MaxInt64: none).
func applyMemoryLimit(v string, builds int) (int64, error) {
	var limit int64
	switch v = strings.TrimSpace(v); v {
	case "auto", "":
		if os.Getenv("GOMEMLIMIT") != "" || builds < 1 {
			return debug.SetMemoryLimit(-1), nil // the runtime's, from GOMEMLIMIT or none
		}
		limit = memoryPerBuild * int64(builds)
	case "off", "0":
		limit = math.MaxInt64
	default:
		n, err := parseBytes(v)
		if err != nil {
			return 0, fmt.Errorf("--memory-limit: %w", err)
		}
		limit = n
	}
	debug.SetMemoryLimit(limit)
	return limit, nil
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
