package engine

import (
	"context"
	"fmt"
	"slices"

	"github.com/moby/moby/client"
)

// PruneImages removes the images EnsureImages built for code that has
// changed since: every image labelled cascade.image whose tags are not
// among keep (the current <repo>:<hash> and <repo>:local). An image a
// container still uses is left alone. It returns the removed tags.
//
// Only `cascade clean --images` calls it, never a run: a concurrent run
// may be about to start containers from a tag that looks stale here, and
// an image missing at that moment would make the engine try a pull.
func PruneImages(ctx context.Context, cli client.APIClient, keep []string) ([]string, error) {
	res, err := cli.ImageList(ctx, client.ImageListOptions{Filters: make(client.Filters).Add("label", LabelImage)})
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var removed []string
	for _, img := range res.Items {
		kept := false
		for _, t := range img.RepoTags {
			if slices.Contains(keep, t) {
				kept = true
			}
		}
		if kept {
			continue
		}
		for _, t := range img.RepoTags {
			if _, err := cli.ImageRemove(ctx, t, client.ImageRemoveOptions{}); err == nil {
				removed = append(removed, t)
			}
		}
	}
	return removed, nil
}
