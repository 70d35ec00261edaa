package specreport_test

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/cascade-lab/cascade/harness/report"
	"github.com/cascade-lab/cascade/harness/report/specreport"
	"github.com/cascade-lab/cascade/harness/timeline/timelinetest"
)

// TestAttach runs a small Ginkgo suite: Attach is only meaningful inside a spec.
func TestAttach(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "specreport.Attach")
}

var _ = Describe("Timeline report attachment", func() {
	It("adds the text timeline to the spec report and writes text, HTML and JSON into CASCADE_REPORT_DIR", func() {
		dir := GinkgoT().TempDir()
		GinkgoT().Setenv(report.DirEnv, dir)

		By("attaching a synthetic incident timeline")
		files := specreport.Attach(timelinetest.Incident().Snapshot())

		By("finding the files named after the spec")
		Expect(filepath.Dir(files.HTML)).To(Equal(dir))
		Expect(filepath.Base(files.HTML)).To(MatchRegexp(`^Timeline-report-attachment-adds-the-text-timeline-to-the-spec-report-and-writes-text-HTML-a-[0-9a-f]{8}\.html$`))
		for _, p := range []string{files.Text, files.HTML, files.JSON} {
			st, err := os.Stat(p)
			Expect(err).NotTo(HaveOccurred())
			Expect(st.Size()).To(BeNumerically(">", 100))
		}

		By("finding the text among the spec's report entries")
		var names []string
		var text string
		for _, e := range CurrentSpecReport().ReportEntries {
			names = append(names, e.Name)
			if e.Name == "timeline" {
				text = e.StringRepresentation()
			}
		}
		Expect(names).To(ContainElements("timeline", "timeline report"))
		Expect(text).To(ContainSubstring("dynamodb"))
		Expect(text).To(ContainSubstring("restore-dns"))
	})

	It("defaults to the reports directory", func() {
		GinkgoT().Setenv(report.DirEnv, "")
		Expect(report.Dir()).To(Equal("reports"))
	})
})
