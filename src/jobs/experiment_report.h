// The report of `posefer experiment` (report.md, report.html, the CSV tables, summary.json) and
// the small statistics its tables use. Internal to src/jobs/ (experiment.cpp runs the protocols).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

#include "posefer/jobs/experiment.h"

namespace posefer::experiment_detail {

// Mean and sample standard deviation (n - 1; 0 for one value) of `v`; NaN for none.
std::pair<double, double> mean_sd(const std::vector<double>& v);
std::vector<double> percent(std::vector<double> v);  // each value x 100
std::string k_name(int k);                          // "real only (k = 0)" / "real + generated (k = K)"

// Everything the report needs besides the rows.
struct ReportInputs {
  std::string title;
  std::string description;
  std::vector<std::string> notes;            // extra lines (peer status, augmentation, ...)
  std::vector<std::pair<int, double>> kn;    // kn-curve points (k, accuracy)
  std::vector<std::pair<std::string, std::string>> sheets;  // (person, file)
  nlohmann::json synthesis;                  // evaluate_synthesis of the sheets' run (null: none)
  nlohmann::json extra = nlohmann::json::object();
};

// Writes the experiment's report files into job.out and fills result's paths.
void write_report(const ExperimentJob& job, const std::vector<ExperimentRow>& rows, const ReportInputs& in,
                  ExperimentResult& result);

}  // namespace posefer::experiment_detail
