// Classification metrics and their JSON / Markdown renderings (see metrics.h).
#include "posefer/metrics/metrics.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "posefer/core/check.h"

namespace posefer {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double ratio(int64_t num, int64_t den) {
  return den > 0 ? static_cast<double>(num) / static_cast<double>(den) : kNaN;
}

// Mean of the finite values; NaN if there are none.
double nan_mean(const std::vector<double>& v) {
  double sum = 0;
  int n = 0;
  for (double x : v) {
    if (std::isfinite(x)) {
      sum += x;
      ++n;
    }
  }
  return n > 0 ? sum / n : kNaN;
}

// Validates a 1-D index tensor and returns it as contiguous CPU int64.
torch::Tensor as_index_vector(const torch::Tensor& t, const char* name) {
  POSEFER_CHECK_SHAPE(t.defined(), name, " tensor is undefined");
  POSEFER_CHECK_SHAPE(t.dim() == 1, name, " must be 1-D, got ", t.dim(), "-D ", t.sizes());
  POSEFER_CHECK_SHAPE(!t.is_floating_point() && !t.is_complex(), name,
                      " must hold integer indices, got ", t.scalar_type());
  return t.to(torch::kInt64).contiguous().cpu();
}

void check_range(const torch::Tensor& t, const char* name, int64_t n) {
  const int64_t* p = t.data_ptr<int64_t>();
  for (int64_t i = 0; i < t.size(0); ++i) {
    POSEFER_CHECK_SHAPE(p[i] >= 0 && p[i] < n, name, "[", i, "] = ", p[i],
                        " is out of range [0, ", n, ")");
  }
}

nlohmann::json number_or_null(double x) {
  return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr);
}

nlohmann::json numbers_or_null(const std::vector<double>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (double x : v) a.push_back(number_or_null(x));
  return a;
}

}  // namespace

ClassificationReport classification_report(const torch::Tensor& pred, const torch::Tensor& truth,
                                           const std::vector<std::string>& class_names,
                                           const torch::Tensor& group,
                                           const std::vector<std::string>& group_names) {
  const int64_t C = static_cast<int64_t>(class_names.size());
  POSEFER_CHECK_SHAPE(C > 0, "classification_report: class_names is empty");
  const torch::Tensor p = as_index_vector(pred, "pred");
  const torch::Tensor t = as_index_vector(truth, "truth");
  const int64_t M = p.size(0);
  POSEFER_CHECK_SHAPE(t.size(0) == M, "pred has ", M, " entries but truth has ", t.size(0));
  check_range(p, "pred", C);
  check_range(t, "truth", C);

  ClassificationReport r;
  r.class_names = class_names;
  r.count = M;
  r.confusion.assign(C, std::vector<int64_t>(C, 0));
  r.class_count.assign(C, 0);

  const int64_t* pp = p.data_ptr<int64_t>();
  const int64_t* tp = t.data_ptr<int64_t>();
  int64_t correct = 0;
  for (int64_t i = 0; i < M; ++i) {
    ++r.confusion[tp[i]][pp[i]];
    ++r.class_count[tp[i]];
    correct += pp[i] == tp[i];
  }
  r.accuracy = ratio(correct, M);
  r.class_accuracy.resize(C);
  for (int64_t c = 0; c < C; ++c) r.class_accuracy[c] = ratio(r.confusion[c][c], r.class_count[c]);

  if (group.defined()) {
    const int64_t G = static_cast<int64_t>(group_names.size());
    POSEFER_CHECK_SHAPE(G > 0, "group tensor given but group_names is empty");
    const torch::Tensor g = as_index_vector(group, "group");
    POSEFER_CHECK_SHAPE(g.size(0) == M, "group has ", g.size(0), " entries but pred has ", M);
    check_range(g, "group", G);
    const int64_t* gp = g.data_ptr<int64_t>();

    std::vector<int64_t> g_correct(G, 0);
    std::vector<std::vector<int64_t>> gc_count(G, std::vector<int64_t>(C, 0));
    std::vector<std::vector<int64_t>> gc_correct(G, std::vector<int64_t>(C, 0));
    r.group_names = group_names;
    r.group_count.assign(G, 0);
    for (int64_t i = 0; i < M; ++i) {
      const bool ok = pp[i] == tp[i];
      ++r.group_count[gp[i]];
      g_correct[gp[i]] += ok;
      ++gc_count[gp[i]][tp[i]];
      gc_correct[gp[i]][tp[i]] += ok;
    }
    r.group_accuracy.resize(G);
    r.group_class_accuracy.assign(G, std::vector<double>(C, kNaN));
    for (int64_t gi = 0; gi < G; ++gi) {
      r.group_accuracy[gi] = ratio(g_correct[gi], r.group_count[gi]);
      for (int64_t c = 0; c < C; ++c) {
        r.group_class_accuracy[gi][c] = ratio(gc_correct[gi][c], gc_count[gi][c]);
      }
    }
  }
  return r;
}

nlohmann::json to_json(const ClassificationReport& r) {
  nlohmann::json j;
  j["class_names"] = r.class_names;
  j["group_names"] = r.group_names;
  j["confusion"] = r.confusion;
  j["count"] = r.count;
  j["accuracy"] = number_or_null(r.accuracy);
  j["class_accuracy"] = numbers_or_null(r.class_accuracy);
  j["class_count"] = r.class_count;
  j["group_accuracy"] = numbers_or_null(r.group_accuracy);
  j["group_count"] = r.group_count;
  nlohmann::json gca = nlohmann::json::array();
  for (const auto& row : r.group_class_accuracy) gca.push_back(numbers_or_null(row));
  j["group_class_accuracy"] = gca;
  return j;
}

std::string accuracy_line(const ClassificationReport& r) {
  return "Accuracy: " + format_percent(r.accuracy) + "% (n = " + std::to_string(r.count) + ")";
}

std::vector<TextTable> report_tables(const ClassificationReport& r) {
  std::vector<TextTable> out;
  const size_t C = r.class_names.size();
  const size_t G = r.group_names.size();
  const bool has_groups = G > 0 && r.group_accuracy.size() == G && r.group_count.size() == G &&
                          r.group_class_accuracy.size() == G;

  if (has_groups) {
    TextTable t{{"group", "n", "accuracy"}, {}};
    for (size_t g = 0; g < G; ++g) {
      t.rows.push_back({r.group_names[g], std::to_string(r.group_count[g]), format_percent(r.group_accuracy[g])});
    }
    out.push_back(std::move(t));
  }
  {
    TextTable t{{"class", "n", "accuracy"}, {}};
    for (size_t c = 0; c < C; ++c) {
      t.rows.push_back({r.class_names[c], c < r.class_count.size() ? std::to_string(r.class_count[c]) : "0",
                        format_percent(c < r.class_accuracy.size() ? r.class_accuracy[c] : kNaN)});
    }
    out.push_back(std::move(t));
  }
  if (has_groups) {
    // Group x class accuracy (the paper's pose x expression table): "mean" averages the
    // available (non-NaN) cells, "all" is the accuracy over every sample of the row.
    TextTable t{{"group"}, {}};
    for (const auto& name : r.class_names) t.header.push_back(name);
    t.header.push_back("mean");
    t.header.push_back("all");
    for (size_t g = 0; g < G; ++g) {
      std::vector<std::string> row{r.group_names[g]};
      for (size_t c = 0; c < C; ++c) {
        row.push_back(format_percent(c < r.group_class_accuracy[g].size() ? r.group_class_accuracy[g][c] : kNaN));
      }
      row.push_back(format_percent(nan_mean(r.group_class_accuracy[g])));
      row.push_back(format_percent(r.group_accuracy[g]));
      t.rows.push_back(std::move(row));
    }
    std::vector<std::string> mean_row{"mean"};
    std::vector<double> col_means;
    for (size_t c = 0; c < C; ++c) {
      std::vector<double> col;
      for (size_t g = 0; g < G; ++g) {
        col.push_back(c < r.group_class_accuracy[g].size() ? r.group_class_accuracy[g][c] : kNaN);
      }
      col_means.push_back(nan_mean(col));
      mean_row.push_back(format_percent(col_means.back()));
    }
    mean_row.push_back(format_percent(nan_mean(col_means)));
    mean_row.push_back(format_percent(r.accuracy));
    t.rows.push_back(std::move(mean_row));
    out.push_back(std::move(t));
  }
  {
    TextTable t{{"true \\ pred"}, {}};
    for (const auto& name : r.class_names) t.header.push_back(name);
    for (size_t c = 0; c < C && c < r.confusion.size(); ++c) {
      std::vector<std::string> row{r.class_names[c]};
      for (size_t k = 0; k < C; ++k) row.push_back(k < r.confusion[c].size() ? std::to_string(r.confusion[c][k]) : "0");
      t.rows.push_back(std::move(row));
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::string to_markdown(const ClassificationReport& r, const std::string& title) {
  std::ostringstream os;
  if (!title.empty()) os << "### " << title << "\n\n";
  os << "**Accuracy: " << format_percent(r.accuracy) << "%** (n = " << r.count << ")\n\n";
  const auto tables = report_tables(r);
  for (size_t i = 0; i < tables.size(); ++i) {
    os << markdown_table(tables[i].header, tables[i].rows) << (i + 1 < tables.size() ? "\n" : "");
  }
  return os.str();
}

std::string markdown_table(const std::vector<std::string>& header,
                           const std::vector<std::vector<std::string>>& rows) {
  POSEFER_CHECK_SHAPE(!header.empty(), "markdown_table: header is empty");
  // '|' inside a cell would split it; escape it.
  auto cell = [](const std::string& s) {
    std::string out;
    for (char ch : s) {
      if (ch == '|') out += '\\';
      out += ch;
    }
    return out;
  };
  std::ostringstream os;
  os << '|';
  for (const auto& h : header) os << ' ' << cell(h) << " |";
  os << "\n|";
  for (size_t i = 0; i < header.size(); ++i) os << "---|";
  os << '\n';
  for (size_t r = 0; r < rows.size(); ++r) {
    POSEFER_CHECK_SHAPE(rows[r].size() == header.size(), "markdown_table: row ", r, " has ",
                        rows[r].size(), " cells but the header has ", header.size());
    os << '|';
    for (const auto& c : rows[r]) os << ' ' << cell(c) << " |";
    os << '\n';
  }
  return os.str();
}

std::string format_percent(double fraction, int decimals) {
  if (!std::isfinite(fraction)) return "-";
  if (decimals < 0) decimals = 0;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, fraction * 100.0);
  return buf;
}

ClassificationReport classification_report_from_json(const nlohmann::json& j) {
  auto nums = [](const nlohmann::json& a) {
    std::vector<double> v;
    for (const auto& x : a) v.push_back(x.is_null() ? std::nan("") : x.get<double>());
    return v;
  };
  try {
    ClassificationReport r;
    r.class_names = j.at("class_names").get<std::vector<std::string>>();
    r.group_names = j.at("group_names").get<std::vector<std::string>>();
    r.confusion = j.at("confusion").get<std::vector<std::vector<int64_t>>>();
    r.count = j.at("count").get<int64_t>();
    r.accuracy = j.at("accuracy").is_null() ? std::nan("") : j.at("accuracy").get<double>();
    r.class_accuracy = nums(j.at("class_accuracy"));
    r.class_count = j.at("class_count").get<std::vector<int64_t>>();
    r.group_accuracy = nums(j.at("group_accuracy"));
    r.group_count = j.at("group_count").get<std::vector<int64_t>>();
    for (const auto& row : j.at("group_class_accuracy")) r.group_class_accuracy.push_back(nums(row));
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw InputError(std::string("classification report: ") + e.what());
  }
}

namespace {
// Mean of the finite values; NaN when there is none.
double finite_mean(const std::vector<double>& values) {
  double sum = 0;
  int n = 0;
  for (double v : values) {
    if (std::isfinite(v)) {
      sum += v;
      ++n;
    }
  }
  return n ? sum / n : std::nan("");
}
}  // namespace

ClassificationReport mean_report(const std::vector<ClassificationReport>& reports) {
  POSEFER_CHECK_SHAPE(!reports.empty(), "mean_report: no reports");
  const ClassificationReport& first = reports.front();
  for (const auto& r : reports) {
    POSEFER_CHECK_SHAPE(r.class_names == first.class_names && r.group_names == first.group_names,
                        "mean_report: reports over different classes or groups");
  }
  const size_t C = first.class_names.size(), G = first.group_names.size();
  ClassificationReport out;
  out.class_names = first.class_names;
  out.group_names = first.group_names;
  out.confusion.assign(C, std::vector<int64_t>(C, 0));
  out.class_count.assign(C, 0);
  out.group_count.assign(G, 0);
  std::vector<double> acc;
  std::vector<std::vector<double>> cls(C), grp(G);
  std::vector<std::vector<std::vector<double>>> gc(G, std::vector<std::vector<double>>(C));
  for (const auto& r : reports) {
    out.count += r.count;
    acc.push_back(r.accuracy);
    for (size_t a = 0; a < C && a < r.confusion.size(); ++a)
      for (size_t b = 0; b < C && b < r.confusion[a].size(); ++b) out.confusion[a][b] += r.confusion[a][b];
    for (size_t c = 0; c < C; ++c) {
      if (c < r.class_count.size()) out.class_count[c] += r.class_count[c];
      if (c < r.class_accuracy.size()) cls[c].push_back(r.class_accuracy[c]);
    }
    for (size_t g = 0; g < G; ++g) {
      if (g < r.group_count.size()) out.group_count[g] += r.group_count[g];
      if (g < r.group_accuracy.size()) grp[g].push_back(r.group_accuracy[g]);
      for (size_t c = 0; c < C; ++c) {
        if (g < r.group_class_accuracy.size() && c < r.group_class_accuracy[g].size())
          gc[g][c].push_back(r.group_class_accuracy[g][c]);
      }
    }
  }
  out.accuracy = finite_mean(acc);
  for (size_t c = 0; c < C; ++c) out.class_accuracy.push_back(finite_mean(cls[c]));
  out.group_class_accuracy.assign(G, std::vector<double>(C));
  for (size_t g = 0; g < G; ++g) {
    out.group_accuracy.push_back(finite_mean(grp[g]));
    for (size_t c = 0; c < C; ++c) out.group_class_accuracy[g][c] = finite_mean(gc[g][c]);
  }
  return out;
}

}  // namespace posefer
