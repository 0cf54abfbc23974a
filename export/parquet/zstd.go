package parquet

import (
	"sync"

	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/klauspost/compress/zstd"
)

// zstdWindowBytes is the window of the zstd encoder. A page is compressed
// on its own and holds about pageBufferBytes, so a larger window finds no
// more matches; parquet-go's default encoder keeps an 8 MiB window (and
// history buffers twice that) per encoder, which made up a large share of
// a build's memory.
const zstdWindowBytes = 1 << 20

// zstdCodec is zstd with a window to fit the pages. Files it writes are
// ordinary zstd-compressed Parquet.
type zstdCodec struct {
	encoders sync.Pool // *zstd.Encoder
}

var pageCodec = &zstdCodec{}

func (*zstdCodec) String() string { return "ZSTD" }

func (*zstdCodec) CompressionCodec() format.CompressionCodec { return format.Zstd }

func (c *zstdCodec) Encode(dst, src []byte) ([]byte, error) {
	e, _ := c.encoders.Get().(*zstd.Encoder)
	if e == nil {
		var err error
		e, err = zstd.NewWriter(nil,
			zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(zstdWindowBytes),
			// The fastest level: a build compresses every page it
			// writes, and the default level took a tenth of its CPU
			// time; on the standard workload the files came out no
			// larger (30 MB against 31).
			zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithZeroFrames(true),
			zstd.WithEncoderCRC(false),
		)
		if err != nil {
			return nil, err
		}
	}
	defer c.encoders.Put(e)
	return e.EncodeAll(src, dst[:0]), nil
}

// Decode uses parquet-go's codec: reading is not this codec's concern.
func (c *zstdCodec) Decode(dst, src []byte) ([]byte, error) {
	return pq.Zstd.Decode(dst, src)
}
