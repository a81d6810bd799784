// Package pipeline turns a TOML pipeline file into a Plan the engine runs,
// and takes a stand on input errors: a pipeline is checked completely
// before anything runs, and every problem comes back at once, each as one
// line "file:line: key.path: message" that names the fix — unknown keys
// with a did-you-mean, wrong types, impossible values, cases that overflow
// the model's context. A value given on the command line (--set) is blamed
// on its --set argument, not on the line it replaced.
//
// Loading goes in three steps, and only the last one decides anything:
//
//  1. BurntSushi/toml parses the file into a generic tree (a syntax error
//     stops here, with its line);
//  2. overlays are merged into the tree: the file's [quick] table with
//     --quick, then each --set key.path=value (typed by the schema: a value
//     that is not TOML is taken as a string);
//  3. one pass decodes the tree into the schema structs and validates them,
//     collecting Problems, applying defaults and expanding the matrix into
//     cases.
//
// Why not toml.Decode into the structs directly: it stops at the first
// type mismatch, and BurntSushi/toml v1.6 keeps key positions private
// (MetaData has Keys and Undecoded but no positions), so the package indexes
// key lines itself from the source it has already parsed.
//
// The schema is documented, key by key, in pipelines/README.md.
package pipeline
