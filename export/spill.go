package export

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"
)

// rowSpill keeps rows in a temporary file until they are read back, in
// the order written: a table that must be seen whole before it is written
// (k-anonymity) holds in memory only what the decision needs, not its
// rows. Only the columns keep marks are stored; the others read back nil.
//
// The file is in the build's directory, mode 0600, named like the other
// temporary files there (RemoveTemp deletes it after a crash), and is
// removed by close. It holds rows already de-identified, as the dataset
// file will.
type rowSpill struct {
	f    *os.File
	w    *bufio.Writer
	keep []bool
	buf  []byte
	rows int
}

// Value tags of the spill encoding.
const (
	spillNil byte = iota
	spillString
	spillInt64
	spillFloat64
	spillFalse
	spillTrue
	spillTime
)

func newRowSpill(dir, table string, keep []bool) (*rowSpill, error) {
	f, err := os.CreateTemp(dir, "."+table+".rows.tmp-*")
	if err != nil {
		return nil, fmt.Errorf("spill rows: %w", err)
	}
	return &rowSpill{f: f, w: bufio.NewWriterSize(f, 64<<10), keep: keep}, nil
}

// add stores row (len(keep) values).
func (s *rowSpill) add(row Row) error {
	b := s.buf[:0]
	for i, v := range row {
		if !s.keep[i] {
			continue
		}
		switch x := v.(type) {
		case nil:
			b = append(b, spillNil)
		case string:
			b = append(b, spillString)
			b = binary.AppendUvarint(b, uint64(len(x)))
			b = append(b, x...)
		case int64:
			b = append(b, spillInt64)
			b = binary.AppendVarint(b, x)
		case float64:
			b = append(b, spillFloat64)
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
		case bool:
			if x {
				b = append(b, spillTrue)
			} else {
				b = append(b, spillFalse)
			}
		case time.Time:
			t, err := x.MarshalBinary() // keeps the zone offset: a date is read in it
			if err != nil {
				return fmt.Errorf("spill rows: %w", err)
			}
			b = append(b, spillTime, byte(len(t)))
			b = append(b, t...)
		default:
			return fmt.Errorf("spill rows: value of type %T", v)
		}
	}
	s.buf = b
	if _, err := s.w.Write(b); err != nil {
		return fmt.Errorf("spill rows: %w", err)
	}
	s.rows++
	return nil
}

// each calls fn with every row added, in order. The row passed is reused
// for the next one.
func (s *rowSpill) each(fn func(Row) error) error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("spill rows: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("spill rows: %w", err)
	}
	r := bufio.NewReaderSize(s.f, 64<<10)
	row := make(Row, len(s.keep))
	for range s.rows {
		for i := range row {
			if !s.keep[i] {
				row[i] = nil
				continue
			}
			v, err := readSpilled(r, &s.buf)
			if err != nil {
				return fmt.Errorf("spill rows: read back: %w", err)
			}
			row[i] = v
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	return nil
}

func readSpilled(r *bufio.Reader, buf *[]byte) (any, error) {
	tag, err := r.ReadByte()
	if err != nil {
		return nil, noEOF(err)
	}
	switch tag {
	case spillNil:
		return nil, nil
	case spillString:
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, noEOF(err)
		}
		b, err := readN(r, buf, n)
		return string(b), err
	case spillInt64:
		x, err := binary.ReadVarint(r)
		return x, noEOF(err)
	case spillFloat64:
		b, err := readN(r, buf, 8)
		if err != nil {
			return nil, err
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(b)), nil
	case spillFalse, spillTrue:
		return tag == spillTrue, nil
	case spillTime:
		n, err := r.ReadByte()
		if err != nil {
			return nil, noEOF(err)
		}
		b, err := readN(r, buf, uint64(n))
		if err != nil {
			return nil, err
		}
		var t time.Time
		if err := t.UnmarshalBinary(b); err != nil {
			return nil, err
		}
		return t, nil
	}
	return nil, fmt.Errorf("unknown value tag %d", tag)
}

// readN reads n bytes into *buf.
func readN(r io.Reader, buf *[]byte, n uint64) ([]byte, error) {
	if n > math.MaxInt32 {
		return nil, errors.New("value too long")
	}
	if uint64(cap(*buf)) < n {
		*buf = make([]byte, n)
	}
	b := (*buf)[:n]
	_, err := io.ReadFull(r, b)
	return b, noEOF(err)
}

// noEOF turns an end of file inside the spill, which is truncated, into
// an error that says so.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// close removes the file.
func (s *rowSpill) close() error {
	err := s.f.Close()
	if rmErr := os.Remove(s.f.Name()); err == nil {
		err = rmErr
	}
	return err
}
