package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Names of a Hugging Face checkpoint's weight files.
const (
	SingleFile = "model.safetensors"
	IndexFile  = "model.safetensors.index.json"
)

// Checkpoint is the weights of a checkpoint directory: model.safetensors, or
// the shards model.safetensors.index.json lists.
type Checkpoint struct {
	Dir string
	// Files are the weight files, relative to Dir, in the order read.
	Files  []string
	files  []*File
	byName map[string]*File
}

// IsCheckpoint reports whether dir holds safetensors weights (either form).
func IsCheckpoint(dir string) bool {
	for _, n := range []string{SingleFile, IndexFile} {
		if st, err := os.Stat(filepath.Join(dir, n)); err == nil && !st.IsDir() {
			return true
		}
	}
	return false
}

// OpenCheckpoint opens the weights of dir. With an index, every file it
// names must exist and hold the tensors it assigns to that file.
func OpenCheckpoint(dir string) (*Checkpoint, error) {
	c := &Checkpoint{Dir: dir, byName: map[string]*File{}}
	idxPath := filepath.Join(dir, IndexFile)
	b, err := os.ReadFile(idxPath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		f, err := Open(filepath.Join(dir, SingleFile))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("checkpoint %s: neither %s nor %s: put the weights beside config.json", dir, SingleFile, IndexFile)
			}
			return nil, err
		}
		c.add(SingleFile, f)
		for _, n := range f.order {
			c.byName[n] = f
		}
		return c, nil
	case err != nil:
		return nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("%s: not a safetensors index (%v)", idxPath, oneLine(err))
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("%s: weight_map is empty or missing", idxPath)
	}
	shards := map[string]*File{}
	names := make([]string, 0, len(idx.WeightMap))
	for n := range idx.WeightMap {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		rel := idx.WeightMap[n]
		if rel == "" || filepath.IsAbs(rel) || strings.Contains(filepath.ToSlash(rel), "/") {
			c.Close()
			return nil, fmt.Errorf("%s: tensor %q maps to %q; want a file name in the same directory", idxPath, n, rel)
		}
		f := shards[rel]
		if f == nil {
			path := filepath.Join(dir, rel)
			if _, err := os.Stat(path); err != nil {
				c.Close()
				return nil, fmt.Errorf("%s: tensor %q lives in %s, which is missing: copy every shard the index names", idxPath, n, rel)
			}
			if f, err = Open(path); err != nil {
				c.Close()
				return nil, err
			}
			shards[rel] = f
			c.add(rel, f)
		}
		if _, ok := f.tensors[n]; !ok {
			c.Close()
			return nil, fmt.Errorf("%s: tensor %q should be in %s, which does not hold it: the index and the shards disagree", idxPath, n, rel)
		}
		c.byName[n] = f
	}
	return c, nil
}

func (c *Checkpoint) add(rel string, f *File) {
	c.Files = append(c.Files, rel)
	c.files = append(c.files, f)
}

// Tensor describes the named tensor.
func (c *Checkpoint) Tensor(name string) (Tensor, bool) {
	f, ok := c.byName[name]
	if !ok {
		return Tensor{}, false
	}
	return f.Tensor(name)
}

// ReadFloat32 reads the named tensor as float32 (see File.ReadFloat32).
func (c *Checkpoint) ReadFloat32(name string, dst []float32) error {
	f, ok := c.byName[name]
	if !ok {
		return fmt.Errorf("checkpoint %s: no tensor %q", c.Dir, name)
	}
	return f.ReadFloat32(name, dst)
}

// Close closes every file.
func (c *Checkpoint) Close() error {
	var first error
	for _, f := range c.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
