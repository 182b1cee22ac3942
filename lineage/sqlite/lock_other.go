//go:build !unix

package sqlite

import "io"

type noLock struct{}

func (noLock) Close() error { return nil }

// lockFile does nothing where flock is missing: keeping to one process per
// database is then up to the operator.
func lockFile(string) (io.Closer, error) { return noLock{}, nil }
