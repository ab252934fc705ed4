package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// settle is how long the config file must be quiet before a change is
// applied: editors write a file in several steps (truncate, write, rename).
const settle = 500 * time.Millisecond

// watchConfig reports on the returned channel when the config file's
// content changed. It watches the file's directory, not the file, because
// editors and configuration management replace files by renaming a new one
// over them. With watch_config off, or if the watch cannot be set up (it is
// logged), the channel never fires; SIGHUP still reloads.
func (a *Agent) watchConfig(ctx context.Context) <-chan struct{} {
	out := make(chan struct{})
	path := a.cfg.Path()
	if !a.cfg.WatchConfig || path == "" {
		return out
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		a.log.Warn("cannot watch the config file; reload with SIGHUP", "err", err)
		return out
	}
	abs, _ := filepath.Abs(path)
	if err := w.Add(filepath.Dir(abs)); err != nil {
		w.Close()
		a.log.Warn("cannot watch the config file; reload with SIGHUP", "config", path, "err", err)
		return out
	}
	last := fileHash(abs)
	go func() {
		defer w.Close()
		var timer <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if filepath.Clean(ev.Name) == abs {
					timer = time.After(settle)
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				a.log.Warn("watching the config file", "err", err)
			case <-timer:
				timer = nil
				h := fileHash(abs)
				if h == nil || bytes.Equal(h, last) {
					continue // gone for a moment, or saved unchanged
				}
				last = h
				select {
				case out <- struct{}{}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

func fileHash(path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	h := sha256.Sum256(data)
	return h[:]
}
