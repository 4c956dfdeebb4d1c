// From decoded messages to table rows. A MappingConfig (one YAML file per source, or the default
// without one) holds rules: which topics / Sparkplug devices go to which table, which payload
// fields or metrics are tags (one row each: device, tag, value, quality, unit, timestamps) or
// columns (one row per message), with renames, types and units. RuleMapper applies it to JSON or
// Sparkplug B payloads: what matches no rule, or no tag, goes to a raw table; what cannot be
// decoded or cast goes to the dead-letter table. The file format is in docs/ingest.md.
// MappingConfig is a value; RuleMapper is used by one thread (Mapper's contract).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "millpond/common/status.h"
#include "millpond/ingest/pipeline.h"
#include "millpond/ingest/value.h"
#include "millpond/paimon/types.h"

namespace millpond::ingest {

enum class PayloadFormat { kJson, kSparkplug };
Result<PayloadFormat> ParsePayloadFormat(const std::string& text);

/// What fills a column: a literal, a built-in (`${device}`, `${topic[2]}`), a JSON path
/// (`$.a.b[0]`), a Sparkplug metric (`${metric:Inputs/Temp}`), or a text template mixing them
/// ("line-${topic[1]}").
struct Expr {
  enum class Kind { kLiteral, kBuiltin, kJsonPath, kMetric, kTemplate };
  Kind kind = Kind::kLiteral;
  Value literal;
  std::string name;                // built-in or metric name (kJsonPath: built-in fallback)
  int builtin = -1;                // index of the built-in (see mapping_config.cc)
  int index = -1;                  // topic[N]
  std::vector<std::string> path;   // JSON path steps ("[N]" for an array index)
  std::vector<Expr> parts;         // template pieces

  /// Parses a YAML scalar. `plain` scalars that read as numbers or booleans are typed literals.
  static Result<Expr> Parse(const std::string& text, bool plain = false);
};

/// One tag pattern of a per-tag rule.
struct TagSpec {
  std::string pattern;  ///< payload field or metric name; '*' and '?' match any text
  std::string rename;   ///< the tag name written (default: the name as received)
  std::string unit;
  paimon::DataTypePtr type;  ///< cast the value to this type first
  std::string table;         ///< write this tag's rows to another table
  bool ignore = false;       ///< drop the tag on purpose
};

struct Rule {
  std::string topic = "#";  ///< MQTT topic filter
  std::string group = "*", node = "*", device_pattern = "*";  ///< Sparkplug ids (globs)
  std::vector<std::string> devices;  ///< allow-list of device globs; others are dead letters
  std::string table;                 ///< target table (default: --table)
  std::optional<Expr> device;        ///< JSON: what ${device} is
  std::optional<Expr> timestamp;     ///< JSON: what ${ts} is (default: the receive time)
  bool per_tag = false;              ///< `tags:` given: one row per tag
  std::vector<TagSpec> tags;
  std::vector<std::pair<std::string, Expr>> columns;  ///< explicit column -> expression
  bool unmapped_to_raw = true;       ///< fields/metrics no column or tag took go to the raw table
  /// Explicit columns the table lacks are skipped rather than refused (the built-in defaults).
  bool lenient_columns = false;
};

struct TableSpec {
  std::string name;
  std::string columns;      ///< "a INT, b STRING" to create the table when absent
  std::string partition;
  std::string primary_key;
  std::map<std::string, std::string> options;
};

struct MappingConfig {
  std::string source;  ///< source id (empty: the connector's default)
  std::optional<PayloadFormat> format;
  std::string dead_letter_table, raw_table, state_table;
  std::vector<TableSpec> tables;
  std::vector<Rule> rules;
  /// Without a map file, JSON: fields to same-name columns of the default table, which is
  /// created from the first message when absent.
  bool auto_json = false;

  /// Parses the YAML text; errors name `what` and the offending key ("map.yaml: rules[1].tags").
  static Result<MappingConfig> FromYaml(const std::string& text, const std::string& what);
  static Result<MappingConfig> Load(const std::string& path);
  /// The mapping used without --map.
  static MappingConfig Default(PayloadFormat format);
};

struct MapperOptions {
  std::string source_id;
  PayloadFormat format = PayloadFormat::kJson;
  /// --table: the target of rules without a table; the default names below derive from it.
  std::string default_table;
  std::string dead_letter_table;  ///< default <table>__dead_letters
  std::string raw_table;          ///< default <table>__raw
  std::string state_table;        ///< Sparkplug device state; default <table>__device_state
};

/// Columns of the tables RuleMapper creates itself.
paimon::TableSchema DeadLetterSchema();
paimon::TableSchema RawSchema();
paimon::TableSchema DeviceStateSchema();
paimon::TableSchema SparkplugReadingsSchema();

class RuleMapper final : public Mapper {
 public:
  static Result<std::unique_ptr<RuleMapper>> Make(MappingConfig config, MapperOptions options);
  ~RuleMapper() override;

  Status Prepare(TableSet* tables) override;
  Status Map(const SourceMessage& m, MapOutput* out) override;
  std::string StateKey(const SourceMessage& m) const override;

 private:
  struct Impl;
  explicit RuleMapper(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Built-in references, in the order of Expr::builtin.
enum class Builtin {
  kTopic, kSource, kIngestTs, kReceivedAt, kTs, kDevice, kGroupId, kEdgeNode, kTag, kValue,
  kValueNumber, kValueInt, kValueText, kDatatype, kQuality, kUnit, kPayload
};
/// The built-in named `name` (-1 when none is).
int BuiltinIndex(const std::string& name);

/// Whether `topic` matches the MQTT filter (`+` one level, `#` the rest).
bool TopicMatches(const std::string& filter, const std::string& topic);
/// Glob match with '*' (any text) and '?' (one character).
bool GlobMatches(const std::string& pattern, const std::string& text);

}  // namespace millpond::ingest
