package tsdb

import (
	"context"
	"errors"
	"fmt"
)

// ErrDropRefused means InfluxDB does not take DROP SERIES through its v1
// query API (InfluxDB 2.x and 3.x answer it as an unsupported
// statement): a deleted asset's points stay until the retention policy
// removes them. Its series id is never given to another asset, so they
// are read by no one meanwhile.
var ErrDropRefused = errors.New("InfluxDB does not drop series through the v1 query API; the points stay until its retention removes them")

// DropAssetSeries deletes every point of the asset ref from every
// measurement of the database (all its retention policies), with
// InfluxQL's DROP SERIES on the v1 query API, which InfluxDB 1.x serves.
// Where InfluxDB refuses the statement the error wraps ErrDropRefused;
// where it is down, ErrUnavailable.
func (i *Influx) DropAssetSeries(ctx context.Context, ref AssetRef) error {
	if err := ref.Validate(); err != nil {
		return err
	}
	_, err := i.InfluxQL(ctx, "series of asset "+ref.Series+" to drop",
		"DROP SERIES WHERE "+quoteIdent(AssetTag)+" = "+quoteString(ref.Series))
	var qe *QueryError
	if errors.As(err, &qe) {
		return fmt.Errorf("%w: %w", ErrDropRefused, err)
	}
	return err
}
