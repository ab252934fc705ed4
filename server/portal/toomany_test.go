package portal

import (
	"testing"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/stretchr/testify/require"
)

// TestTooManyText: the 429 page says when to try again, in seconds under
// a minute and else in whole minutes rounded up, in English and German.
func TestTooManyText(t *testing.T) {
	c, err := loadTexts()
	require.NoError(t, err)
	tests := []struct {
		name, lang string
		wait       time.Duration
		want       string
	}{
		{"one second", "en", 300 * time.Millisecond, "Too many attempts. Try again in 1 second."},
		{"seconds", "en", 30 * time.Second, "Too many attempts. Try again in 30 seconds."},
		{"one minute", "en", time.Minute, "Too many attempts. Try again in 1 minute."},
		{"minutes", "en", 2 * time.Minute, "Too many attempts. Try again in 2 minutes."},
		{"rounded up", "en", 64 * time.Second, "Too many attempts. Try again in 2 minutes."},
		{"German minutes", "de", 15 * time.Minute, "Zu viele Versuche. Versuchen Sie es in 15 Minuten erneut."},
		{"German seconds", "de", 2 * time.Second, "Zu viele Versuche. Versuchen Sie es in 2 Sekunden erneut."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tooManyText(i18n.NewLocalizer(c.bundle, tt.lang), tt.wait))
		})
	}
}
