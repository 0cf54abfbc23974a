package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// learnersPerScale is the size of the standard workload (issue 7).
const learnersPerScale = 100000

// outDir holds the rexport binary, the cached workloads and the build
// outputs; it is git-ignored.
const outDir = "out"

func main() {
	scale := flag.Float64("scale", 1, "workload size: 1 is rexport fixtures --learners 100000")
	runs := flag.Int("runs", 3, "builds of each tool, alternating")
	partner := flag.String("partner", "partner-uni-a", "partner the export is for")
	scaling := flag.Bool("scaling", false, "also build with rexport at 1x, 2x and 4x the workload, and once with GOMAXPROCS=1")
	duckChild := flag.String("duckdb-child", "", "internal: run the DuckDB script from the JSON job in this file and exit")
	flag.Parse()

	if *duckChild != "" {
		if err := runDuckChild(*duckChild); err != nil {
			fmt.Fprintln(os.Stderr, "bench: duckdb:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*scale, *runs, *partner, *scaling); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// measurement is one timed build.
type measurement struct {
	wall   time.Duration
	maxRSS int64 // bytes
}

func run(scale float64, runs int, partner string, scaling bool) error {
	if scale <= 0 || runs < 1 {
		return errors.New("-scale must be > 0 and -runs >= 1")
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	rexport, err := filepath.Abs(filepath.Join(outDir, "rexport"))
	if err != nil {
		return err
	}
	fmt.Println("building", rexport)
	// Built from the main module each time (cached when unchanged), so that
	// the figures are of the code in the tree.
	gobuild := command("go", "build", "-o", rexport, "./cmd/rexport")
	gobuild.Dir = ".."
	if err := gobuild.Run(); err != nil {
		return fmt.Errorf("go build: %w", err)
	}
	threads := runtime.GOMAXPROCS(0)

	w, err := prepareWorkload(rexport, scale, partner)
	if err != nil {
		return err
	}
	w.print()

	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return err
	}
	var rx, dk []measurement
	for i := range runs {
		m, err := buildRexport(rexport, w, fmt.Sprintf("rexport-%d", i), "")
		if err != nil {
			return err
		}
		rx = append(rx, m)
		w.printRun("rexport", i+1, m)

		m, err = buildDuckDB(w, fmt.Sprintf("duckdb-%d", i), threads, hex.EncodeToString(salt))
		if err != nil {
			return err
		}
		dk = append(dk, m)
		w.printRun("duckdb", i+1, m)
	}
	if err := compareOutputs(w, filepath.Join(outDir, "builds", "rexport-0"), filepath.Join(outDir, "builds", "duckdb-0")); err != nil {
		return err
	}
	ratios := make([]float64, runs)
	for i := range runs {
		ratios[i] = rx[i].wall.Seconds() / dk[i].wall.Seconds()
	}
	fmt.Printf("\nthreads: %d (GOMAXPROCS of rexport, SET threads of DuckDB)\n", threads)
	fmt.Printf("median wall: rexport %v, duckdb %v\n", medianWall(rx).Round(time.Millisecond), medianWall(dk).Round(time.Millisecond))
	fmt.Printf("max peak RSS: rexport %s, duckdb %s\n", mib(maxRSS(rx)), mib(maxRSS(dk)))
	fmt.Printf("median ratio rexport_time / duckdb_time: %.2f (per run: %s)\n", median(ratios), formatRatios(ratios))

	if scaling {
		return runScaling(rexport, scale, partner, runs, w)
	}
	return nil
}

// runScaling builds with rexport at 1x, 2x and 4x the workload, then once
// more at 1x with GOMAXPROCS=1.
func runScaling(rexport string, scale float64, partner string, runs int, base *workload) error {
	fmt.Printf("\nscaling (rexport, median of %d runs each)\n", runs)
	var base1 time.Duration
	for _, f := range []float64{1, 2, 4} {
		w := base
		if f != 1 {
			var err error
			if w, err = prepareWorkload(rexport, scale*f, partner); err != nil {
				return err
			}
		}
		var ms []measurement
		for i := range runs {
			m, err := buildRexport(rexport, w, fmt.Sprintf("scale%gx-%d", f, i), "")
			if err != nil {
				return err
			}
			ms = append(ms, m)
		}
		med := medianWall(ms)
		if f == 1 {
			base1 = med
		}
		fmt.Printf("  %gx  learners %-8d rows %-10d wall %-8v rows/s %-10.0f peak RSS %-9s time vs 1x %.2fx\n",
			f, w.learners, w.rows, med.Round(time.Millisecond), float64(w.rows)/med.Seconds(),
			mib(maxRSS(ms)), med.Seconds()/base1.Seconds())
	}
	m, err := buildRexport(rexport, base, "gomaxprocs1", "GOMAXPROCS=1")
	if err != nil {
		return err
	}
	fmt.Printf("  1x with GOMAXPROCS=1: wall %v, rows/s %.0f, peak RSS %s, %.2fx the time with GOMAXPROCS=%d\n",
		m.wall.Round(time.Millisecond), float64(base.rows)/m.wall.Seconds(), mib(m.maxRSS),
		m.wall.Seconds()/base1.Seconds(), runtime.GOMAXPROCS(0))
	return nil
}

// buildRexport runs `rexport build` on the workload into a fresh directory.
func buildRexport(rexport string, w *workload, name, env string) (measurement, error) {
	out, err := freshDir(name)
	if err != nil {
		return measurement{}, err
	}
	data, err := filepath.Abs(filepath.Join(outDir, "rexport-data"))
	if err != nil {
		return measurement{}, err
	}
	cmd := command(rexport, "--data", data, "--log-level", "warn", "build",
		"--source", w.dir, "--partner", w.partner, "--out", out, "--free-text",
		"--tables", strings.Join(w.tables, ","), "--courses", strings.Join(w.courses, ","))
	// Progress and summary go to a log, not into the figures.
	logf, err := os.Create(out + ".log")
	if err != nil {
		return measurement{}, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if env != "" {
		cmd.Env = append(os.Environ(), env)
	}
	m, err := timed(cmd)
	if err != nil {
		return m, fmt.Errorf("rexport build (see %s.log): %w", out, err)
	}
	return m, nil
}

// buildDuckDB runs the DuckDB script in a subprocess of this program, so
// that its peak RSS is its own.
func buildDuckDB(w *workload, name string, threads int, salt string) (measurement, error) {
	out, err := freshDir(name)
	if err != nil {
		return measurement{}, err
	}
	jobFile := out + ".job"
	if err := writeJob(jobFile, duckJob{Source: w.dir, Out: out, Courses: w.courses, Threads: threads, Salt: salt}); err != nil {
		return measurement{}, err
	}
	self, err := os.Executable()
	if err != nil {
		return measurement{}, err
	}
	m, err := timed(command(self, "-duckdb-child", jobFile))
	if err != nil {
		return m, fmt.Errorf("duckdb script: %w", err)
	}
	return m, nil
}

// timed runs cmd and returns its wall time and peak RSS.
func timed(cmd *exec.Cmd) (measurement, error) {
	start := time.Now()
	err := cmd.Run()
	m := measurement{wall: time.Since(start)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.maxRSS = int64(ru.Maxrss) * 1024 // kilobytes on Linux
	}
	return m, err
}

func command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd
}

// freshDir returns the absolute path of out/builds/name, removed if it
// existed: rexport build refuses to write into a used directory.
func freshDir(name string) (string, error) {
	dir, err := filepath.Abs(filepath.Join(outDir, "builds", name))
	if err != nil {
		return "", err
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	return dir, os.MkdirAll(filepath.Dir(dir), 0o755)
}

func medianWall(ms []measurement) time.Duration {
	s := make([]float64, len(ms))
	for i, m := range ms {
		s[i] = float64(m.wall)
	}
	return time.Duration(median(s))
}

func maxRSS(ms []measurement) int64 {
	var r int64
	for _, m := range ms {
		r = max(r, m.maxRSS)
	}
	return r
}

func median(s []float64) float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	s = slices.Sorted(slices.Values(s))
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

func formatRatios(r []float64) string {
	parts := make([]string, len(r))
	for i, x := range r {
		parts[i] = strconv.FormatFloat(x, 'f', 2, 64)
	}
	return strings.Join(parts, " ")
}

func mib(b int64) string {
	return fmt.Sprintf("%.0f MB", float64(b)/(1<<20))
}
