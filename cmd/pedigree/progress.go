package main

import (
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
)

// progressEnabled decides whether a transfer draws a progress bar: only for
// a person watching, that is when stderr is a terminal, CI is not set (CI
// runners set CI=true and often give jobs a pseudo-terminal, where a bar
// fills the log with redraws) and --quiet was not given. CI set to "",
// "0" or "false" counts as unset.
func progressEnabled(quiet, stderrIsTTY bool, lookupEnv func(string) (string, bool)) bool {
	if quiet || !stderrIsTTY {
		return false
	}
	if v, ok := lookupEnv("CI"); ok && v != "" && v != "0" && v != "false" {
		return false
	}
	return true
}

// isTerminal reports whether w is a terminal (a character device, or a
// Cygwin/MSYS pty).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// progress reports one transfer on stderr: bytes, rate and time left. A
// disabled progress (or one of an empty transfer) passes bytes through and
// draws nothing.
type progress struct {
	bar *progressbar.ProgressBar
}

// newProgress returns a progress of size bytes (-1 if unknown) described
// by desc, drawn on w if enabled.
func newProgress(w io.Writer, enabled bool, size int64, desc string) *progress {
	if !enabled || size == 0 {
		return &progress{}
	}
	return &progress{bar: progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetWidth(20),
		progressbar.OptionFullWidth(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionClearOnFinish(),
	)}
}

// reader counts what r yields.
func (p *progress) reader(r io.Reader) io.Reader {
	if p.bar == nil {
		return r
	}
	return &progressReader{r: r, bar: p.bar}
}

// done removes the bar, whether the transfer completed or not.
func (p *progress) done() {
	if p.bar == nil {
		return
	}
	_ = p.bar.Exit()
	_ = p.bar.Clear()
}

// progressReader is progressbar.Reader without its Close, and without
// hiding the reader's errors behind the bar's.
type progressReader struct {
	r   io.Reader
	bar *progressbar.ProgressBar
}

func (pr *progressReader) Read(b []byte) (int, error) {
	n, err := pr.r.Read(b)
	if n > 0 {
		_ = pr.bar.Add64(int64(n))
	}
	return n, err
}
