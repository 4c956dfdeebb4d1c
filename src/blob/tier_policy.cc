// TierPolicy: JSON or a small YAML subset (maps, lists of maps, scalars, # comments) read into
// JSON, then checked field by field.
#include <cctype>
#include <sstream>

#include <nlohmann/json.hpp>

#include "millpond/blob/tiers.h"
#include "store_layout.h"

namespace millpond::blob {
namespace {

using nlohmann::json;

struct Line {
  int indent;
  std::string text;
  int number;
};

std::string Trim(std::string s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

json Scalar(const std::string& raw) {
  std::string v = Trim(raw);
  if (v.size() >= 2 && ((v.front() == '"' && v.back() == '"') ||
                        (v.front() == '\'' && v.back() == '\''))) {
    return v.substr(1, v.size() - 2);
  }
  bool digits = !v.empty() && (std::isdigit(static_cast<unsigned char>(v[0])) || v[0] == '-');
  for (size_t i = 1; i < v.size() && digits; ++i) {
    digits = std::isdigit(static_cast<unsigned char>(v[i]));
  }
  if (digits && v != "-") return std::stoll(v);
  return v;
}

class YamlSubset {
 public:
  YamlSubset(std::vector<Line> lines, std::string source)
      : lines_(std::move(lines)), source_(std::move(source)) {}

  Result<json> Parse() {
    if (lines_.empty()) return json::object();
    size_t i = 0;
    MP_ASSIGN_OR_RAISE(json j, Block(&i, lines_[0].indent));
    if (i != lines_.size()) return Error(lines_[i], "unexpected indentation");
    return j;
  }

 private:
  Status Error(const Line& l, const std::string& what) const {
    return Status::Invalid(source_, " line ", l.number, ": ", what);
  }

  Result<json> Block(size_t* i, int indent) {
    if (lines_[*i].text.rfind("-", 0) == 0) return List(i, indent);
    return Map(i, indent);
  }

  Result<json> List(size_t* i, int indent) {
    json out = json::array();
    while (*i < lines_.size() && lines_[*i].indent == indent &&
           lines_[*i].text.rfind("-", 0) == 0) {
      Line& l = lines_[*i];
      std::string rest = l.text.substr(1);
      size_t pad = 1;
      while (pad < l.text.size() && l.text[pad] == ' ') ++pad;
      rest = l.text.substr(pad);
      if (rest.empty()) {
        ++*i;
        if (*i >= lines_.size() || lines_[*i].indent <= indent) {
          out.push_back(nullptr);
          continue;
        }
        MP_ASSIGN_OR_RAISE(json item, Block(i, lines_[*i].indent));
        out.push_back(std::move(item));
      } else if (rest.find(':') != std::string::npos) {
        // "- key: value" opens a map whose keys line up with "key".
        l.indent += static_cast<int>(pad);
        l.text = rest;
        MP_ASSIGN_OR_RAISE(json item, Map(i, l.indent));
        out.push_back(std::move(item));
      } else {
        out.push_back(Scalar(rest));
        ++*i;
      }
    }
    return out;
  }

  Result<json> Map(size_t* i, int indent) {
    json out = json::object();
    while (*i < lines_.size() && lines_[*i].indent == indent) {
      const Line& l = lines_[*i];
      if (l.text.rfind("-", 0) == 0) return Error(l, "a list item where a key was expected");
      size_t colon = l.text.find(':');
      if (colon == std::string::npos) return Error(l, "expected 'key: value'");
      std::string key = Trim(l.text.substr(0, colon));
      std::string value = Trim(l.text.substr(colon + 1));
      ++*i;
      if (!value.empty()) {
        out[key] = Scalar(value);
      } else if (*i < lines_.size() && lines_[*i].indent > indent) {
        MP_ASSIGN_OR_RAISE(out[key], Block(i, lines_[*i].indent));
      } else {
        out[key] = nullptr;
      }
    }
    return out;
  }

  std::vector<Line> lines_;
  std::string source_;
};

Result<json> ParseText(std::string_view text, const std::string& source) {
  std::string t = Trim(std::string(text));
  if (!t.empty() && (t[0] == '{' || t[0] == '[')) {
    json j = json::parse(t, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return Status::Invalid(source, ": not valid JSON");
    return j;
  }
  std::vector<Line> lines;
  std::istringstream in{std::string(text)};
  std::string raw;
  int number = 0;
  while (std::getline(in, raw)) {
    ++number;
    size_t hash = raw.find('#');
    if (hash != std::string::npos) raw = raw.substr(0, hash);
    if (Trim(raw).empty()) continue;
    if (raw.find('\t') != std::string::npos) {
      return Status::Invalid(source, " line ", number, ": tabs are not allowed, indent with spaces");
    }
    int indent = 0;
    while (indent < static_cast<int>(raw.size()) && raw[indent] == ' ') ++indent;
    lines.push_back(Line{indent, Trim(raw), number});
  }
  return YamlSubset(std::move(lines), source).Parse();
}

Result<int64_t> Duration(const json& v, const std::string& where) {
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return v.get<int64_t>();
  if (!v.is_string()) return Status::Invalid(where, " must be a duration such as 30d or 12h");
  auto d = ParseDuration(v.get<std::string>());
  if (!d.ok()) return Status::Invalid(where, ": ", d.status().message());
  return *d;
}

}  // namespace

Result<int64_t> ParseDuration(std::string_view text) {
  std::string t = Trim(std::string(text));
  size_t i = 0;
  while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i;
  if (i == 0 || i > 12) {
    return Status::Invalid("bad duration '", text, "' (use e.g. 500ms, 10s, 15m, 12h, 30d)");
  }
  const int64_t n = std::stoll(t.substr(0, i));
  std::string unit = Trim(t.substr(i));
  static const std::pair<const char*, int64_t> kUnits[] = {
      {"ms", 1}, {"s", 1000}, {"m", 60000}, {"min", 60000}, {"h", 3600000}, {"d", 86400000},
      {"w", 7 * 86400000LL}};
  if (unit.empty() && n == 0) return 0;
  for (const auto& [name, mul] : kUnits) {
    if (unit == name) return n * mul;
  }
  return Status::Invalid("bad duration '", text, "' (use e.g. 500ms, 10s, 15m, 12h, 30d)");
}

Result<TierPolicy> TierPolicy::Parse(std::string_view text, const std::string& source) {
  MP_ASSIGN_OR_RAISE(json j, ParseText(text, source));
  if (!j.is_object()) return Status::Invalid(source, ": expected a map with 'rules'");
  TierPolicy p;
  for (auto& [key, value] : j.items()) {
    if (key == "rules") {
      if (!value.is_array()) return Status::Invalid(source, ": 'rules' must be a list");
      for (size_t i = 0; i < value.size(); ++i) {
        const json& r = value[i];
        const std::string where = source + ": rule " + std::to_string(i + 1);
        if (!r.is_object()) return Status::Invalid(where, " must be a map");
        TierRule rule;
        for (auto& [rk, rv] : r.items()) {
          if (rk == "tier") {
            if (!rv.is_string() || TierFromName(rv.get<std::string>()) < 0) {
              return Status::Invalid(where, ": tier must be hot, warm or cold");
            }
            rule.tier = rv.get<std::string>();
          } else if (rk == "min_age") {
            MP_ASSIGN_OR_RAISE(rule.min_age_millis, Duration(rv, where + " min_age"));
          } else if (rk == "min_idle") {
            MP_ASSIGN_OR_RAISE(rule.min_idle_millis, Duration(rv, where + " min_idle"));
          } else {
            return Status::Invalid(where, ": unknown key '", rk,
                                   "' (expected tier, min_age, min_idle)");
          }
        }
        if (rule.tier.empty()) return Status::Invalid(where, ": no tier");
        p.rules.push_back(rule);
      }
    } else if (key == "tiers") {
      if (!value.is_object()) return Status::Invalid(source, ": 'tiers' must be a map");
      for (auto& [tk, tv] : value.items()) {
        if (TierFromName(tk) < 0) {
          return Status::Invalid(source, ": unknown tier '", tk, "' (hot, warm, cold)");
        }
        if (!tv.is_string() || tv.get<std::string>().empty()) {
          return Status::Invalid(source, ": location of tier ", tk, " must be a path or URI");
        }
        p.locations[tk] = tv.get<std::string>();
      }
    } else if (key == "zstd_level_cold") {
      if (!value.is_number_integer() || value.get<int>() < 1 || value.get<int>() > 22) {
        return Status::Invalid(source, ": zstd_level_cold must be between 1 and 22");
      }
      p.zstd_level_cold = value.get<int>();
    } else {
      return Status::Invalid(source, ": unknown key '", key,
                             "' (expected rules, tiers, zstd_level_cold)");
    }
  }
  if (p.rules.empty() && p.locations.empty()) return Status::Invalid(source, ": no rules");
  return p;
}

TierPolicy TierPolicy::Default() {
  TierPolicy p;
  p.rules.push_back({"cold", -1, 30LL * 86400 * 1000});
  p.rules.push_back({"warm", -1, 7LL * 86400 * 1000});
  p.rules.push_back({"hot", -1, -1});
  return p;
}

std::string TierPolicy::TierFor(int64_t age, int64_t idle) const {
  for (const auto& r : rules) {
    if (r.min_age_millis >= 0 && age < r.min_age_millis) continue;
    if (r.min_idle_millis >= 0 && idle < r.min_idle_millis) continue;
    return r.tier;
  }
  return "";
}

}  // namespace millpond::blob
