// Classification metrics: accuracy overall, per class, per group (e.g. per pose), confusion
// matrix; rendered as JSON and as Markdown tables.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace posefer {

struct ClassificationReport {
  std::vector<std::string> class_names;  // C classes
  std::vector<std::string> group_names;  // G groups (e.g. poses); may be empty
  std::vector<std::vector<int64_t>> confusion;  // [C][C]: row = true class, column = predicted
  int64_t count = 0;                     // number of predictions
  double accuracy = 0;                   // fraction in [0, 1]
  std::vector<double> class_accuracy;    // recall of each class (NaN if the class is absent)
  std::vector<int64_t> class_count;
  std::vector<double> group_accuracy;    // accuracy within each group (NaN if empty)
  std::vector<int64_t> group_count;
  // [G][C] accuracy of class c within group g (NaN if empty): the paper's pose x expression table.
  std::vector<std::vector<double>> group_class_accuracy;
};

// pred, truth: int64 [M] class indices in [0, C); group: int64 [M] in [0, G) or undefined.
// Throws ShapeError on length mismatch or out-of-range indices.
ClassificationReport classification_report(const torch::Tensor& pred, const torch::Tensor& truth,
                                           const std::vector<std::string>& class_names,
                                           const torch::Tensor& group = {},
                                           const std::vector<std::string>& group_names = {});

nlohmann::json to_json(const ClassificationReport& report);
// The inverse of to_json (null accuracies become NaN). Throws InputError naming a missing or
// mistyped field.
ClassificationReport classification_report_from_json(const nlohmann::json& j);

// Cross-validation summary of reports over the same classes and groups (one per fold): counts
// and confusion matrices summed; accuracy, class, group and group x class accuracies the mean
// over the reports that have the cell (NaN where none has). Throws ShapeError on an empty list or
// reports with different class or group names.
ClassificationReport mean_report(const std::vector<ClassificationReport>& reports);

// A table of formatted cells, as reports print it.
struct TextTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // each header.size() cells
};

// "Accuracy: 70.0% (n = 10)".
std::string accuracy_line(const ClassificationReport& report);

// The report's tables: per group (when it has groups), per class, group x class with means
// (when it has groups), confusion matrix (counts, rows true). Percentages with one decimal.
std::vector<TextTable> report_tables(const ClassificationReport& report);

// Markdown: the accuracy line in bold, then report_tables. `title` becomes a "### " heading if
// not empty.
std::string to_markdown(const ClassificationReport& report, const std::string& title = "");

// A generic Markdown table (header row + rows); cells are already formatted.
std::string markdown_table(const std::vector<std::string>& header,
                           const std::vector<std::vector<std::string>>& rows);

// "87.5" for 0.875 ("-" for NaN).
std::string format_percent(double fraction, int decimals = 1);

}  // namespace posefer
