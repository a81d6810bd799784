// Package deploy holds the files that run a sharded pipe sweep on a
// scheduler — Kubernetes, Slurm, GitHub Actions — and, in its test, the
// checks that keep them runnable: every Kubernetes manifest decodes strictly
// into the real API types, the shard counts agree, and every pipe command
// line they spell parses against pipe's real flags (cli.CheckArgs). See
// README.md for the protocol.
package deploy
