// Avro data files to Arrow: the writer schema JSON (Avro C keeps no logical types) is turned into
// a tree of nodes that carry the Arrow type, then each record decoded by Avro C is appended to
// Arrow builders following that tree. Mirrors Paimon Java's AvroSchemaConverter in reverse.
#include "millpond/paimon/avro_data.h"

#include <arrow/builder.h>
#include <arrow/table.h>
#include <arrow/type.h>
#include <arrow/util/decimal.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "paimon/avro_container.h"

namespace millpond::paimon {
namespace {

using json = nlohmann::json;

// One Avro schema node with the Arrow type it becomes.
struct Node {
  avro_type_t avro = AVRO_NULL;
  std::shared_ptr<arrow::DataType> type;
  bool nullable = false;  // unions with a null branch
  // Record fields (names_), array items / map values (one child), union branches, or the key
  // and value of an array-encoded map.
  std::vector<Node> children;
  std::vector<std::string> names;  // record field names or enum symbols
  bool array_map = false;          // array of {key, value} records read as an Arrow map
};

// Schema attributes read without nlohmann's exceptions: wrong types read as empty / zero.
std::string StringAt(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
int IntAt(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int>() : 0;
}

std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Node MakeNode(avro_type_t avro, std::shared_ptr<arrow::DataType> type) {
  Node n;
  n.avro = avro;
  n.type = std::move(type);
  return n;
}

class SchemaBuilder {
 public:
  explicit SchemaBuilder(std::string_view what) : what_(what) {}

  Result<Node> Build(const json& j, const std::string& ns, int depth) {
    if (depth > 64) return Invalid("schema nested too deeply");
    if (j.is_string()) return BuildNamed(j.get<std::string>(), ns, depth);
    if (j.is_array()) return BuildUnion(j, ns, depth);
    if (!j.is_object() || !j.contains("type")) return Invalid("bad schema node " + Dump(j));
    const json& t = j["type"];
    if (!t.is_string()) return Build(t, ns, depth + 1);  // {"type": {...}} or {"type": [...]}
    const std::string type = t.get<std::string>();
    const std::string logical = StringAt(j, "logicalType");
    if (type == "record" || type == "error") return BuildRecord(j, ns, depth);
    if (type == "enum") {
      Node n = MakeNode(AVRO_ENUM, arrow::utf8());
      if (j.contains("symbols") && j["symbols"].is_array()) {
        for (const auto& s : j["symbols"]) {
          n.names.push_back(s.is_string() ? s.get<std::string>() : "");
        }
      }
      ARROW_RETURN_NOT_OK(Define(j, ns, n));
      return n;
    }
    if (type == "fixed") {
      Node n = MakeNode(AVRO_FIXED, arrow::binary());
      if (logical == "decimal") {
        ARROW_ASSIGN_OR_RAISE(n.type, Decimal(j));
      }
      ARROW_RETURN_NOT_OK(Define(j, ns, n));
      return n;
    }
    if (type == "array") {
      if (!j.contains("items")) return Invalid("array without items");
      ARROW_ASSIGN_OR_RAISE(Node items, Build(j["items"], ns, depth + 1));
      if (logical == "map") return ArrayMap(std::move(items));
      Node n = MakeNode(AVRO_ARRAY,
                        arrow::list(arrow::field("element", items.type, items.nullable)));
      n.children.push_back(std::move(items));
      return n;
    }
    if (type == "map") {
      if (!j.contains("values")) return Invalid("map without values");
      ARROW_ASSIGN_OR_RAISE(Node values, Build(j["values"], ns, depth + 1));
      Node n = MakeNode(AVRO_MAP, std::make_shared<arrow::MapType>(
                           arrow::field("key", arrow::utf8(), false),
                           arrow::field("value", values.type, values.nullable)));
      n.children.push_back(std::move(values));
      return n;
    }
    ARROW_ASSIGN_OR_RAISE(Node n, Primitive(type, ns, depth));
    if (n.avro == AVRO_INT32) {
      if (logical == "date") n.type = arrow::date32();
      if (logical == "time-millis") n.type = arrow::time32(arrow::TimeUnit::MILLI);
    } else if (n.avro == AVRO_INT64) {
      static const std::map<std::string, std::shared_ptr<arrow::DataType>> kLongLogical = {
          {"timestamp-millis", arrow::timestamp(arrow::TimeUnit::MILLI)},
          {"timestamp-micros", arrow::timestamp(arrow::TimeUnit::MICRO)},
          {"timestamp-nanos", arrow::timestamp(arrow::TimeUnit::NANO)},
          {"local-timestamp-millis", arrow::timestamp(arrow::TimeUnit::MILLI, "UTC")},
          {"local-timestamp-micros", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")},
          {"local-timestamp-nanos", arrow::timestamp(arrow::TimeUnit::NANO, "UTC")},
          {"time-micros", arrow::time64(arrow::TimeUnit::MICRO)},
      };
      auto it = kLongLogical.find(logical);
      if (it != kLongLogical.end()) n.type = it->second;
    } else if (n.avro == AVRO_BYTES && logical == "decimal") {
      ARROW_ASSIGN_OR_RAISE(n.type, Decimal(j));
    }
    return n;
  }

 private:
  Status Invalid(const std::string& detail) const {
    return Status::Invalid("avro file ", what_, ": ", detail);
  }

  Result<std::shared_ptr<arrow::DataType>> Decimal(const json& j) const {
    const int precision = IntAt(j, "precision");
    const int scale = IntAt(j, "scale");
    if (precision < 1 || precision > 38 || scale < 0 || scale > precision) {
      return Invalid("unsupported decimal(" + std::to_string(precision) + ", " +
                     std::to_string(scale) + ")");
    }
    return arrow::decimal128(precision, scale);
  }

  static std::string FullName(const json& j, const std::string& ns) {
    const std::string name = StringAt(j, "name");
    if (name.find('.') != std::string::npos) return name;
    const std::string space = j.contains("namespace") ? StringAt(j, "namespace") : ns;
    return space.empty() ? name : space + "." + name;
  }

  Status Define(const json& j, const std::string& ns, const Node& n) {
    const std::string full = FullName(j, ns);
    named_[full] = n;
    return Status::OK();
  }

  Result<Node> Primitive(const std::string& type, const std::string& ns, int depth) {
    static const std::map<std::string, std::pair<avro_type_t, std::shared_ptr<arrow::DataType>>>
        kPrimitives = {
            {"null", {AVRO_NULL, arrow::null()}},     {"boolean", {AVRO_BOOLEAN, arrow::boolean()}},
            {"int", {AVRO_INT32, arrow::int32()}},    {"long", {AVRO_INT64, arrow::int64()}},
            {"float", {AVRO_FLOAT, arrow::float32()}}, {"double", {AVRO_DOUBLE, arrow::float64()}},
            {"string", {AVRO_STRING, arrow::utf8()}}, {"bytes", {AVRO_BYTES, arrow::binary()}},
        };
    auto it = kPrimitives.find(type);
    if (it != kPrimitives.end()) return MakeNode(it->second.first, it->second.second);
    return BuildNamed(type, ns, depth);
  }

  Result<Node> BuildNamed(const std::string& name, const std::string& ns, int depth) {
    if (name == "null" || name == "boolean" || name == "int" || name == "long" ||
        name == "float" || name == "double" || name == "string" || name == "bytes") {
      return Primitive(name, ns, depth);
    }
    auto it = named_.find(name);
    if (it == named_.end() && !ns.empty()) it = named_.find(ns + "." + name);
    if (it == named_.end()) {
      return Invalid("unknown type '" + name + "' (recursive types unsupported)");
    }
    return it->second;
  }

  Result<Node> BuildUnion(const json& j, const std::string& ns, int depth) {
    Node n = MakeNode(AVRO_UNION, arrow::null());
    int non_null = 0;
    for (const auto& branch : j) {
      ARROW_ASSIGN_OR_RAISE(Node b, Build(branch, ns, depth + 1));
      if (b.avro == AVRO_NULL) {
        n.nullable = true;
      } else {
        n.type = b.type;
        ++non_null;
      }
      n.children.push_back(std::move(b));
    }
    if (non_null > 1) {
      return Invalid("unions of several non-null types are unsupported: " + Dump(j));
    }
    return n;
  }

  Result<Node> BuildRecord(const json& j, const std::string& ns, int depth) {
    const std::string full = FullName(j, ns);
    const auto dot = full.rfind('.');
    const std::string child_ns = dot == std::string::npos ? "" : full.substr(0, dot);
    Node n = MakeNode(AVRO_RECORD, nullptr);
    arrow::FieldVector fields;
    static const json kNoFields = json::array();
    const json& all = j.contains("fields") && j["fields"].is_array() ? j["fields"] : kNoFields;
    for (const auto& f : all) {
      if (!f.is_object() || !f.contains("type") || StringAt(f, "name").empty()) {
        return Invalid("record field without name or type");
      }
      ARROW_ASSIGN_OR_RAISE(Node child, Build(f["type"], child_ns, depth + 1));
      const std::string name = StringAt(f, "name");
      fields.push_back(arrow::field(name, child.type, child.nullable));
      n.names.push_back(name);
      n.children.push_back(std::move(child));
    }
    n.type = arrow::struct_(fields);
    named_[full] = n;
    return n;
  }

  // Paimon's map with non-string keys: array<record{key, value}> with logicalType "map".
  Result<Node> ArrayMap(Node items) {
    if (items.avro != AVRO_RECORD || items.children.size() != 2) {
      return Invalid("logicalType map needs an array of two-field records");
    }
    Node n = MakeNode(AVRO_ARRAY, std::make_shared<arrow::MapType>(
                           arrow::field("key", items.children[0].type, false),
                           arrow::field("value", items.children[1].type,
                                        items.children[1].nullable)));
    n.array_map = true;
    n.children.push_back(std::move(items.children[0]));
    n.children.push_back(std::move(items.children[1]));
    return n;
  }

  std::string what_;
  std::map<std::string, Node> named_;
};

// Appends decoded Avro C values to Arrow builders, following the node tree.
class Appender {
 public:
  explicit Appender(std::string_view what) : what_(what) {}

  Status Append(const Node& n, avro_value_t* v, arrow::ArrayBuilder* b) {
    switch (n.avro) {
      case AVRO_NULL:
        return b->AppendNull();
      case AVRO_UNION: {
        int discriminant = -1;
        avro_value_t branch;
        if (avro_value_get_discriminant(v, &discriminant) != 0 || discriminant < 0 ||
            static_cast<size_t>(discriminant) >= n.children.size() ||
            avro_value_get_current_branch(v, &branch) != 0) {
          return Error("bad union value");
        }
        return Append(n.children[discriminant], &branch, b);
      }
      case AVRO_BOOLEAN: {
        int x = 0;
        avro_value_get_boolean(v, &x);
        return static_cast<arrow::BooleanBuilder*>(b)->Append(x != 0);
      }
      case AVRO_INT32: {
        int32_t x = 0;
        avro_value_get_int(v, &x);
        switch (b->type()->id()) {
          case arrow::Type::DATE32:
            return static_cast<arrow::Date32Builder*>(b)->Append(x);
          case arrow::Type::TIME32:
            return static_cast<arrow::Time32Builder*>(b)->Append(x);
          default:
            return static_cast<arrow::Int32Builder*>(b)->Append(x);
        }
      }
      case AVRO_INT64: {
        int64_t x = 0;
        avro_value_get_long(v, &x);
        switch (b->type()->id()) {
          case arrow::Type::TIMESTAMP:
            return static_cast<arrow::TimestampBuilder*>(b)->Append(x);
          case arrow::Type::TIME64:
            return static_cast<arrow::Time64Builder*>(b)->Append(x);
          default:
            return static_cast<arrow::Int64Builder*>(b)->Append(x);
        }
      }
      case AVRO_FLOAT: {
        float x = 0;
        avro_value_get_float(v, &x);
        return static_cast<arrow::FloatBuilder*>(b)->Append(x);
      }
      case AVRO_DOUBLE: {
        double x = 0;
        avro_value_get_double(v, &x);
        return static_cast<arrow::DoubleBuilder*>(b)->Append(x);
      }
      case AVRO_STRING: {
        const char* s = nullptr;
        size_t size = 0;
        avro_value_get_string(v, &s, &size);
        // Avro C counts the NUL terminator.
        return static_cast<arrow::StringBuilder*>(b)->Append(s, size > 0 ? size - 1 : 0);
      }
      case AVRO_ENUM: {
        int symbol = 0;
        avro_value_get_enum(v, &symbol);
        if (symbol < 0 || static_cast<size_t>(symbol) >= n.names.size()) {
          return Error("enum index out of range");
        }
        return static_cast<arrow::StringBuilder*>(b)->Append(n.names[symbol]);
      }
      case AVRO_BYTES:
      case AVRO_FIXED: {
        const void* buf = nullptr;
        size_t size = 0;
        if (n.avro == AVRO_BYTES) {
          avro_value_get_bytes(v, &buf, &size);
        } else {
          avro_value_get_fixed(v, &buf, &size);
        }
        if (b->type()->id() == arrow::Type::DECIMAL128) {
          auto* db = static_cast<arrow::Decimal128Builder*>(b);
          if (size == 0) return db->Append(arrow::Decimal128());
          if (size > 16) return Error("decimal wider than 16 bytes");
          ARROW_ASSIGN_OR_RAISE(auto d, arrow::Decimal128::FromBigEndian(
                                            static_cast<const uint8_t*>(buf),
                                            static_cast<int32_t>(size)));
          return db->Append(d);
        }
        return static_cast<arrow::BinaryBuilder*>(b)->Append(static_cast<const uint8_t*>(buf),
                                                             static_cast<int64_t>(size));
      }
      case AVRO_RECORD: {
        auto* sb = static_cast<arrow::StructBuilder*>(b);
        ARROW_RETURN_NOT_OK(sb->Append());
        for (size_t i = 0; i < n.children.size(); ++i) {
          avro_value_t child;
          if (avro_value_get_by_index(v, i, &child, nullptr) != 0) return Error("record field");
          ARROW_RETURN_NOT_OK(
              Append(n.children[i], &child, sb->field_builder(static_cast<int>(i))));
        }
        return Status::OK();
      }
      case AVRO_ARRAY: {
        size_t count = 0;
        avro_value_get_size(v, &count);
        if (n.array_map) {
          auto* mb = static_cast<arrow::MapBuilder*>(b);
          ARROW_RETURN_NOT_OK(mb->Append());
          for (size_t i = 0; i < count; ++i) {
            avro_value_t kv, key, value;
            if (avro_value_get_by_index(v, i, &kv, nullptr) != 0 ||
                avro_value_get_by_index(&kv, 0, &key, nullptr) != 0 ||
                avro_value_get_by_index(&kv, 1, &value, nullptr) != 0) {
              return Error("map entry");
            }
            ARROW_RETURN_NOT_OK(Append(n.children[0], &key, mb->key_builder()));
            ARROW_RETURN_NOT_OK(Append(n.children[1], &value, mb->item_builder()));
          }
          return Status::OK();
        }
        auto* lb = static_cast<arrow::ListBuilder*>(b);
        ARROW_RETURN_NOT_OK(lb->Append());
        for (size_t i = 0; i < count; ++i) {
          avro_value_t item;
          if (avro_value_get_by_index(v, i, &item, nullptr) != 0) return Error("array item");
          ARROW_RETURN_NOT_OK(Append(n.children[0], &item, lb->value_builder()));
        }
        return Status::OK();
      }
      case AVRO_MAP: {
        auto* mb = static_cast<arrow::MapBuilder*>(b);
        ARROW_RETURN_NOT_OK(mb->Append());
        size_t count = 0;
        avro_value_get_size(v, &count);
        for (size_t i = 0; i < count; ++i) {
          avro_value_t value;
          const char* key = nullptr;
          if (avro_value_get_by_index(v, i, &value, &key) != 0 || key == nullptr) {
            return Error("map entry");
          }
          ARROW_RETURN_NOT_OK(static_cast<arrow::StringBuilder*>(mb->key_builder())->Append(key));
          ARROW_RETURN_NOT_OK(Append(n.children[0], &value, mb->item_builder()));
        }
        return Status::OK();
      }
      case AVRO_LINK:
        break;
    }
    return Error("unsupported Avro type");
  }

 private:
  Status Error(std::string_view detail) const {
    return Status::Invalid("avro file ", what_, ": ", detail, ": ", avro_strerror());
  }
  std::string what_;
};

Result<Node> TopLevelNode(std::string_view schema_json, std::string_view what) {
  json j = json::parse(schema_json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Invalid("avro file ", what, ": schema is not JSON");
  SchemaBuilder builder(what);
  ARROW_ASSIGN_OR_RAISE(Node root, builder.Build(j, "", 0));
  if (root.avro != AVRO_RECORD) {
    return Status::Invalid("avro file ", what, ": top-level schema is not a record");
  }
  return root;
}

}  // namespace

Result<std::shared_ptr<arrow::Schema>> ArrowSchemaFromAvroJson(std::string_view schema_json,
                                                               std::string_view what) {
  ARROW_ASSIGN_OR_RAISE(Node root, TopLevelNode(schema_json, what));
  return arrow::schema(root.type->fields());
}

Result<std::shared_ptr<arrow::Table>> ReadAvroDataFile(std::string_view bytes,
                                                       std::string_view what) {
  ARROW_ASSIGN_OR_RAISE(auto reader, AvroFileReader::Open(bytes, what));
  ARROW_ASSIGN_OR_RAISE(Node root, TopLevelNode(reader->schema_json(), what));
  auto schema = arrow::schema(root.type->fields());
  std::vector<std::unique_ptr<arrow::ArrayBuilder>> builders;
  for (const auto& field : schema->fields()) {
    ARROW_ASSIGN_OR_RAISE(auto b, arrow::MakeBuilder(field->type()));
    builders.push_back(std::move(b));
  }
  Appender appender(what);
  while (true) {
    ARROW_ASSIGN_OR_RAISE(avro_value_t * record, reader->Next());
    if (record == nullptr) break;
    for (size_t i = 0; i < root.children.size(); ++i) {
      avro_value_t field;
      if (avro_value_get_by_index(record, i, &field, nullptr) != 0) {
        return Status::Invalid("avro file ", what, ": record has no field ", root.names[i]);
      }
      ARROW_RETURN_NOT_OK(appender.Append(root.children[i], &field, builders[i].get()));
    }
  }
  arrow::ArrayVector columns;
  for (auto& b : builders) {
    ARROW_ASSIGN_OR_RAISE(auto array, b->Finish());
    columns.push_back(std::move(array));
  }
  return arrow::Table::Make(schema, columns);
}

}  // namespace millpond::paimon
