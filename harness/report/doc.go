// Package report renders a timeline snapshot for people: a plain-text
// timeline for the terminal and the Ginkgo report (fault ledger, phases per
// component, health strips over incident time with hour ticks), and a
// self-contained HTML page with an inline SVG chart (fault windows as bands,
// operator actions as markers, the DNS record state, each component's health
// and impact windows), the phases table and, for the incident replay, a
// fidelity table comparing the replay with the real incident. The page makes
// no network fetches and needs no JavaScript.
//
// WriteDir writes the text, the HTML and the timeline's JSON side by side;
// Attach does that for the running Ginkgo spec and adds the text to its report.
package report
