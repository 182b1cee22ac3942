//go:build unix

package sqlite

import (
	"errors"
	"io"
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on path+".lock" for as long as
// the Store is open, so that a second process (or a second Store in this
// one) cannot open the database: its index would miss the other's writes.
// The kernel drops the lock when the process dies, kill -9 included.
func lockFile(path string) (io.Closer, error) {
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errors.New("the database is open in another Store or process")
		}
		return nil, err
	}
	return f, nil
}
