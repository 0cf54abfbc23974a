package parquet_test

import (
	"fmt"
	"os"
	"syscall"
)

func init() {
	if dir := os.Getenv("FUZZLOG"); dir != "" {
		f, err := os.Create(fmt.Sprintf("%s/worker-%d.log", dir, os.Getpid()))
		if err == nil {
			syscall.Dup3(int(f.Fd()), 2, 0)
		}
	}
}
