// Package archtest holds DESIGN.md's layer rules as tests: the import
// direction suites -> experiments -> harness -> mocks -> mocks/kit, cores
// without I/O, mocks that reach each other only through client packages,
// and a cascade binary that links no test framework. It has no code of its
// own; `make test` runs it with the unit tests.
package archtest
