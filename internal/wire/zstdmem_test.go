package wire

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"
)

// The agent's batch encoder holds a few MiB, not the 16 MiB history per
// CPU that an 8 MiB window and the default concurrency hold, and it
// compresses a batch of the agent's default 5,000 lines as well as that
// one does.
func TestZstdEncoderMemory(t *testing.T) {
	var raw bytes.Buffer
	raw.WriteString(`{"version":2,"id":"5f0c6a36-1c1e-4c5e-9a57-1f7c2d9e0b11"}` + "\n")
	for i := range 5000 {
		fmt.Fprintf(&raw, "interface,asset=dev-%04d,ifName=eth%d in_octets=%di,out_octets=%di,oper_status=1i,speed=10000i %d\n",
			i%100, i%50, int64(i)*7919, int64(i)*104729, 1765000000000000000+int64(i))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	enc, err := newZstdEncoder()
	require.NoError(t, err)
	var out []byte
	for range 3 {
		out = enc.EncodeAll(raw.Bytes(), out[:0])
	}
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	require.Less(t, allocated, uint64(6<<20), "the encoder and three batches allocated %d bytes", allocated)

	var d Decoder
	got, err := d.Decode(bytes.NewReader(out), Zstd, 64<<20)
	require.NoError(t, err)
	require.Equal(t, 5000, got.Lines())

	wide, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithWindowSize(zstdMaxWindow))
	require.NoError(t, err)
	ref := wide.EncodeAll(raw.Bytes(), nil)
	require.LessOrEqual(t, len(out), len(ref)*101/100, "compressed as well as with an 8 MiB window (%d against %d bytes of %d)", len(out), len(ref), raw.Len())
}

// AppendMarshal gives the batch MarshalAs gives, in both codings, reusing
// the buffers it is handed.
func TestAppendMarshal(t *testing.T) {
	for _, coding := range []string{Zstd, Gzip} {
		t.Run(coding, func(t *testing.T) {
			b := &Batch{Version: Version, ID: "5f0c6a36-1c1e-4c5e-9a57-1f7c2d9e0b11", Samples: "m,asset=a v=1 1000000000\nm,asset=a v=2 2000000000\n"}
			dst, scratch := make([]byte, 0, 4096), make([]byte, 0, 4096)
			out, raw, err := b.AppendMarshal(dst, scratch, coding)
			require.NoError(t, err)
			require.Same(t, &scratch[:1][0], &raw[:1][0], "the scratch buffer was used")
			if coding == Zstd {
				require.Same(t, &dst[:1][0], &out[:1][0], "the destination buffer was used")
			}
			var d Decoder
			got, err := d.Decode(bytes.NewReader(out), coding, 1<<20)
			require.NoError(t, err)
			require.Equal(t, b.Samples, got.Samples)
			require.Equal(t, b.ID, got.ID)
		})
	}
}
