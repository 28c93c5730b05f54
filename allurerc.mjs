// Allure 3 report of the drills: one self-contained HTML file, so an auditor can open it from
// disk or an archive without a web server.
import { defineConfig } from "allure";

export default defineConfig({
  name: "drillbook: DR drill evidence",
  output: "reports/allure-report",
  plugins: {
    awesome: {
      options: {
        singleFile: true,
        reportName: "drillbook: DR drill evidence",
        groupBy: ["epic", "feature"],
      },
    },
  },
});
