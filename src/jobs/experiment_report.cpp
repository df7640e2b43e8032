// The report of `posefer experiment` (experiment_report.h).
#include "experiment_report.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

#include "posefer/jobs/augment.h"
#include "posefer/core/check.h"
#include "posefer/train/data_pipeline.h"
#include "posefer/data/dataset.h"
#include "posefer/io/image_io.h"
#include "posefer/render/make_faces.h"
#include "posefer/eval/peer_baseline.h"
#include "posefer/report/plot.h"
#include "posefer/report/document.h"
#include "posefer/report/report.h"
#include "posefer/eval/synthesis_eval.h"

namespace posefer::experiment_detail {

namespace fs = std::filesystem;

// Mean and sample standard deviation (n - 1; 0 for one value) of `v`.
std::pair<double, double> mean_sd(const std::vector<double>& v) {
  if (v.empty()) return {std::nan(""), std::nan("")};
  double m = 0;
  for (double x : v) m += x;
  m /= static_cast<double>(v.size());
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return {m, v.size() > 1 ? std::sqrt(ss / static_cast<double>(v.size() - 1)) : 0.0};
}

std::vector<double> percent(std::vector<double> v) {
  for (double& x : v) x *= 100;
  return v;
}

std::string k_name(int k) {
  return k == 0 ? "real only (k = 0)" : "real + generated (k = " + std::to_string(k) + ")";
}


namespace {

// Rows of the per-pose table: each configuration's accuracy per pose, then the average.
std::vector<std::vector<std::string>> per_pose_rows(const std::vector<ExperimentRow>& rows,
                                                    const std::vector<std::string>& poses) {
  std::vector<std::vector<std::string>> out;
  for (const auto& r : rows) {
    std::vector<std::string> line{r.name};
    for (const auto& p : poses) {
      const auto it = std::find(r.report.group_names.begin(), r.report.group_names.end(), p);
      const size_t g = static_cast<size_t>(it - r.report.group_names.begin());
      line.push_back(it == r.report.group_names.end() || g >= r.report.group_accuracy.size()
                         ? "-"
                         : format_percent(r.report.group_accuracy[g]));
    }
    line.push_back(format_percent(r.report.accuracy));
    out.push_back(line);
  }
  return out;
}

std::vector<std::vector<std::string>> per_class_rows(const std::vector<ExperimentRow>& rows,
                                                     const std::vector<std::string>& classes) {
  std::vector<std::vector<std::string>> out;
  for (const auto& r : rows) {
    std::vector<std::string> line{r.name};
    for (const auto& c : classes) {
      const auto it = std::find(r.report.class_names.begin(), r.report.class_names.end(), c);
      const size_t i = static_cast<size_t>(it - r.report.class_names.begin());
      line.push_back(it == r.report.class_names.end() || i >= r.report.class_accuracy.size()
                         ? "-"
                         : format_percent(r.report.class_accuracy[i]));
    }
    line.push_back(format_percent(r.report.accuracy));
    out.push_back(line);
  }
  return out;
}

// Table 3: pose rows x expression columns of one report, with the averages.
std::vector<std::vector<std::string>> pose_expression_rows(const ClassificationReport& r) {
  std::vector<std::vector<std::string>> out;
  for (size_t g = 0; g < r.group_names.size(); ++g) {
    std::vector<std::string> line{r.group_names[g]};
    for (size_t c = 0; c < r.class_names.size(); ++c) {
      line.push_back(g < r.group_class_accuracy.size() && c < r.group_class_accuracy[g].size()
                         ? format_percent(r.group_class_accuracy[g][c])
                         : "-");
    }
    line.push_back(g < r.group_accuracy.size() ? format_percent(r.group_accuracy[g]) : "-");
    out.push_back(line);
  }
  std::vector<std::string> avg{"average"};
  for (double v : r.class_accuracy) avg.push_back(format_percent(v));
  avg.push_back(format_percent(r.accuracy));
  out.push_back(avg);
  return out;
}

std::string csv_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  auto cell = [](const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return q + "\"";
  };
  std::ostringstream os;
  for (size_t i = 0; i < header.size(); ++i) os << (i ? "," : "") << cell(header[i]);
  os << "\n";
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) os << (i ? "," : "") << cell(row[i]);
    os << "\n";
  }
  return os.str();
}

std::vector<std::string> with_ends(std::string first, std::vector<std::string> middle, std::string last) {
  middle.insert(middle.begin(), std::move(first));
  middle.push_back(std::move(last));
  return middle;
}

// The synthesis check as table rows: G against the true images, next to the input unchanged.
std::vector<std::vector<std::string>> synthesis_rows(const nlohmann::json& r) {
  auto num = [&](const char* k) { return r.contains(k) && r[k].is_number() ? r[k].get<double>() : NAN; };
  return {{"L1 to the true image (lower is better)", format_number(num("l1"), 4),
           "input unchanged " + format_number(num("copy_l1"), 4)},
          {"SSIM to the true image (higher is better)", format_number(num("ssim"), 3),
           "input unchanged " + format_number(num("copy_ssim"), 3)},
          {"identity kept: nearest test person by G's code f", format_percent(num("identity_accuracy")) + "%",
           "real " + format_percent(num("identity_accuracy_real")) + "%, chance " + format_percent(num("identity_chance")) + "%"},
          {"identity by an independent judge CNN", format_percent(num("identity_judge_accuracy")) + "%",
           "real images it did not see " + format_percent(num("identity_judge_real")) + "%"}};
}

}  // namespace

void write_report(const ExperimentJob& job, const std::vector<ExperimentRow>& rows, const ReportInputs& in,
                  ExperimentResult& result) {
  const fs::path out(job.out);
  const ExperimentRow& main = rows.front();
  const auto& poses = main.report.group_names;
  const auto& classes = main.report.class_names;

  const auto pose_header = with_ends("configuration", poses, "average");
  const auto pose_rows = per_pose_rows(rows, poses);
  const auto class_header = with_ends("configuration", classes, "average");
  const auto class_rows = per_class_rows(rows, classes);
  const auto pe_header = with_ends("pose", classes, "average");
  const auto pe_rows = pose_expression_rows(main.report);
  std::vector<std::string> conf_header{"true \\ predicted"};
  for (const auto& c : classes) conf_header.push_back(c);
  std::vector<std::vector<std::string>> conf_rows;
  for (size_t a = 0; a < classes.size(); ++a) {
    std::vector<std::string> line{classes[a]};
    for (size_t b = 0; b < classes.size(); ++b) line.push_back(std::to_string(main.report.confusion[a][b]));
    conf_rows.push_back(line);
  }
  std::vector<std::vector<std::string>> fold_rows;
  for (const auto& r : rows) {
    std::string folds;
    for (size_t i = 0; i < r.fold_accuracy.size(); ++i) folds += (i ? ", " : "") + format_percent(r.fold_accuracy[i]);
    double sd = 0;
    if (r.fold_accuracy.size() > 1) {
      double m = 0;
      for (double v : r.fold_accuracy) m += v / static_cast<double>(r.fold_accuracy.size());
      for (double v : r.fold_accuracy) sd += (v - m) * (v - m) / static_cast<double>(r.fold_accuracy.size() - 1);
      sd = std::sqrt(sd);
    }
    fold_rows.push_back({r.name, format_percent(r.report.accuracy), r.fold_accuracy.size() > 1 ? format_percent(sd) : "-", folds,
                         std::to_string(r.report.count)});
  }
  const std::vector<std::string> fold_header{"configuration", "accuracy %", "std over folds", "per fold %",
                                             "test predictions"};

  write_file_atomic((out / "per_pose.csv").string(), csv_table(pose_header, pose_rows));
  write_file_atomic((out / "per_class.csv").string(), csv_table(class_header, class_rows));
  write_file_atomic((out / "pose_expression.csv").string(), csv_table(pe_header, pe_rows));
  write_file_atomic((out / "confusion.csv").string(), csv_table(conf_header, conf_rows));
  write_confusion_chart((out / "confusion.png").string(), main.report, main.name, job.plot);
  if (!in.kn.empty()) {
    std::vector<std::vector<std::string>> kn_rows;
    Series s;
    s.name = "expression accuracy";
    for (const auto& [k, a] : in.kn) {
      kn_rows.push_back({std::to_string(k), format_percent(a)});
      s.x.push_back(k);
      s.y.push_back(100 * a);
    }
    write_file_atomic((out / "kn_curve.csv").string(), csv_table({"k", "accuracy %"}, kn_rows));
    std::vector<Series> curves{s};
    // The peer (a pretrained net that saw none of our generated faces) as a flat reference line.
    for (const auto& r : rows) {
      if (r.name.find("(peer") == std::string::npos || !std::isfinite(r.report.accuracy)) continue;
      curves.push_back(Series{r.name, {static_cast<double>(in.kn.front().first), static_cast<double>(in.kn.back().first)},
                              {100 * r.report.accuracy, 100 * r.report.accuracy}});
    }
    LineChartOptions lo;
    lo.title = "Accuracy against generated faces per real face (kN)";
    lo.x_label = "k";
    lo.y_label = "test accuracy %";
    write_line_chart((out / "kn_curve.png").string(), curves, lo, job.plot);
  }

  Document doc(in.title);
  doc.paragraph(in.description);
  doc.bullets(in.notes);
  doc.heading(2, "Accuracy");
  doc.table(fold_header, fold_rows);
  doc.heading(2, "Per pose (Table 2)");
  doc.table(pose_header, pose_rows);
  doc.heading(2, "Pose x expression, " + main.name + " (Table 3)");
  doc.table(pe_header, pe_rows);
  doc.heading(2, "Per expression (Table 5)");
  doc.table(class_header, class_rows);
  doc.heading(2, "Confusion matrix, " + main.name + " (Fig. 4; counts summed over folds)");
  doc.table(conf_header, conf_rows);
  doc.image("confusion.png", "confusion, " + main.name + ", row percentages");
  if (!in.kn.empty()) {
    doc.heading(2, "kN curve (Fig. 5)");
    doc.image("kn_curve.png", "kN curve: test accuracy against k");
  }
  if (!in.sheets.empty()) {
    doc.heading(2, "Synthesis (Fig. 6)");
    doc.paragraph("Input | G(x, e, p) for every pose (rows) x expression (columns) | the person's true images.");
    for (const auto& [who, file] : in.sheets) doc.image(file, "synthesis " + who);
  }
  if (!in.synthesis.is_null()) {
    const std::vector<std::string> synth_header{
        "synthesis of new expressions / poses (" +
            std::to_string(in.synthesis.is_object() ? in.synthesis.value("pairs", 0) : 0) + " faces)",
        "G(x, e, p)", "reference"};
    doc.heading(3, "Synthesis against the true images");
    doc.table(synth_header, synthesis_rows(in.synthesis));
  }
  std::vector<std::string> files{"summary.json", "per_pose.csv", "pose_expression.csv", "per_class.csv", "confusion.csv"};
  if (!in.kn.empty()) files.push_back("kn_curve.csv");
  files.push_back("report.md");
  doc.files("Tables and figures (run folders hold each training's logs and eval.json)", files);
  result.report = (out / "report.md").string();
  write_document(doc, result.report, (out / "report.html").string());

  nlohmann::json summary = in.extra;
  summary["protocol"] = job.protocol;
  summary["data"] = job.base.config.data.spec;
  if (!job.data_b.empty()) summary["data_b"] = job.data_b;
  summary["notes"] = in.notes;
  if (!in.synthesis.is_null()) summary["synthesis"] = in.synthesis;
  nlohmann::json jrows = nlohmann::json::array();
  for (const auto& r : rows) {
    jrows.push_back({{"name", r.name}, {"accuracy", r.report.accuracy}, {"fold_accuracy", r.fold_accuracy},
                     {"report", to_json(r.report)}});
  }
  summary["rows"] = jrows;
  write_file_atomic((out / "summary.json").string(), summary.dump(2) + "\n");
  spdlog::info("experiment report: {} (and report.html)", result.report);
}

}  // namespace posefer::experiment_detail
