package parquet_test

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rexport/rexport/export/parquet"
)

func TestRepro(t *testing.T) {
	dirs := []string{os.Getenv("FUZZCACHE"), "testdata/fuzz/FuzzReader"}
	for _, d := range dirs {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			b, _ := os.ReadFile(filepath.Join(d, e.Name()))
			s := strings.TrimPrefix(string(b), "go test fuzz v1\n[]byte(")
			s = strings.TrimSuffix(strings.TrimSpace(s), ")")
			data, err := strconv.Unquote(s)
			if err != nil {
				t.Fatal(e.Name(), err)
			}
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			start := time.Now()
			func() {
				r, err := parquet.NewReader(bytes.NewReader([]byte(data)), int64(len(data)))
				if err != nil {
					t.Log(e.Name(), "open:", err)
					return
				}
				defer r.Close()
				for range 10000 {
					if _, err := r.Next(); err != nil {
						t.Log(e.Name(), "next:", err)
						return
					}
				}
			}()
			runtime.ReadMemStats(&ms1)
			if d := time.Since(start); d > 50*time.Millisecond || ms1.TotalAlloc-ms0.TotalAlloc > 100<<20 {
				t.Log("SLOW", e.Name(), d, (ms1.TotalAlloc-ms0.TotalAlloc)>>20, "MiB")
			}
		}
	}
}
