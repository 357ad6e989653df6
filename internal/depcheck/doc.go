// Package depcheck holds tests of the module's import graph (go list -deps):
// what a package that only binds queries may pull in, what generated code
// imports, and that no product package depends on the benchmarks. It has no
// code of its own.
package depcheck
