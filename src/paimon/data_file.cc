// Parquet/ORC/Avro data files.
#include "millpond/paimon/data_file.h"

#include <arrow/adapters/orc/adapter.h>
#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api_aggregate.h>
#include <arrow/scalar.h>
#include <parquet/file_writer.h>
#include <parquet/metadata.h>
#include <parquet/schema.h>
#include <parquet/statistics.h>
#include <arrow/io/interfaces.h>
#include <arrow/record_batch.h>
#include <arrow/table.h>
#include <arrow/util/key_value_metadata.h>
#include <arrow/util/byte_size.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/schema.h>
#include <parquet/arrow/writer.h>
#include <parquet/properties.h>

#include "millpond/paimon/avro_data.h"

namespace millpond::paimon {
namespace {

std::shared_ptr<arrow::Field> WithFieldIds(const std::shared_ptr<arrow::Field>& f, int32_t id) {
  auto md = arrow::key_value_metadata({"PARQUET:field_id"}, {std::to_string(id)});
  return f->WithMetadata(md);
}

}  // namespace

std::shared_ptr<arrow::Schema> DataFileSchema(const std::vector<DataField>& fields) {
  arrow::FieldVector out;
  for (const auto& f : fields) out.push_back(WithFieldIds(ToArrowField(f), f.id));
  return arrow::schema(out);
}

struct ParquetDataFileWriter::Impl {
  std::shared_ptr<arrow::io::OutputStream> sink;
  std::unique_ptr<parquet::arrow::FileWriter> writer;
  std::shared_ptr<arrow::Schema> schema;
  std::string path;
  int64_t buffered_bytes = 0;  // uncompressed bytes in the open row group
  int64_t row_group_bytes = 64ll << 20;
};

ParquetDataFileWriter::~ParquetDataFileWriter() = default;

Result<std::unique_ptr<ParquetDataFileWriter>> ParquetDataFileWriter::Open(
    const fs::FileSystem& fs, const std::string& path, const std::vector<DataField>& fields,
    const ParquetWriteOptions& options) {
  auto w = std::unique_ptr<ParquetDataFileWriter>(new ParquetDataFileWriter());
  w->impl_ = std::make_unique<Impl>();
  w->impl_->path = path;
  w->impl_->schema = DataFileSchema(fields);
  w->fields_ = fields;
  ARROW_ASSIGN_OR_RAISE(w->impl_->sink, fs.OpenOutput(path));
  w->impl_->row_group_bytes = options.row_group_bytes;
  parquet::WriterProperties::Builder props;
  arrow::Compression::type codec = arrow::Compression::ZSTD;
  if (options.compression == "snappy") {
    codec = arrow::Compression::SNAPPY;
  } else if (options.compression == "none" || options.compression == "uncompressed") {
    codec = arrow::Compression::UNCOMPRESSED;
  } else if (options.compression == "gzip") {
    codec = arrow::Compression::GZIP;
  } else if (options.compression == "lz4") {
    codec = arrow::Compression::LZ4;
  }
  props.compression(codec);
  if (codec == arrow::Compression::ZSTD) props.compression_level(options.compression_level);
  props.max_row_group_length(options.row_group_rows);
  for (const auto& name : options.distinct_columns) {
    int i = w->impl_->schema->GetFieldIndex(name);
    if (i < 0) continue;
    const auto& type = w->impl_->schema->field(i)->type();
    props.disable_dictionary(name);
    if (type->id() == arrow::Type::INT32 || type->id() == arrow::Type::INT64) {
      props.encoding(name, parquet::Encoding::DELTA_BINARY_PACKED);
    }
  }
  props.enable_store_decimal_as_integer();
  props.created_by("millpond 0.1.0");
  parquet::ArrowWriterProperties::Builder aprops;
  aprops.set_use_threads(true);  // encode the columns of a row group in parallel
  // Paimon stores TIMESTAMP(7..9) as INT96; Arrow applies INT96 to every nanosecond column only
  // when asked, and millis/micros columns keep INT64.
  bool has_nanos = false;
  for (const auto& f : fields) {
    if ((f.type->root == TypeRoot::kTimestamp || f.type->root == TypeRoot::kLocalZonedTimestamp) &&
        f.type->precision > 6) {
      has_nanos = true;
    }
  }
  if (has_nanos) aprops.enable_deprecated_int96_timestamps();
  ARROW_ASSIGN_OR_RAISE(
      w->impl_->writer,
      parquet::arrow::FileWriter::Open(*w->impl_->schema, arrow::default_memory_pool(),
                                       w->impl_->sink, props.build(), aprops.build()));
  return w;
}

Status ParquetDataFileWriter::Write(const arrow::RecordBatch& batch) {
  auto st = impl_->writer->WriteRecordBatch(batch);
  if (!st.ok()) return Status::IOError("writing ", impl_->path, ": ", st.message());
  rows_ += batch.num_rows();
  impl_->buffered_bytes += arrow::util::TotalBufferSize(batch);
  if (impl_->buffered_bytes >= impl_->row_group_bytes) {
    // Flush so that the file size (and rolling at target-file-size) follows the data written.
    st = impl_->writer->NewBufferedRowGroup();
    if (!st.ok()) return Status::IOError("writing ", impl_->path, ": ", st.message());
    impl_->buffered_bytes = 0;
  }
  return Status::OK();
}

int64_t ParquetDataFileWriter::EstimatedSize() const {
  auto pos = impl_->sink->Tell();
  int64_t written = pos.ok() ? *pos : 0;
  // Open row group: assume Parquet encoding + zstd shrink it about 4x.
  return written + impl_->buffered_bytes / 4;
}

Result<int64_t> ParquetDataFileWriter::Finish() {
  ARROW_RETURN_NOT_OK(impl_->writer->Close());
  ARROW_ASSIGN_OR_RAISE(int64_t size, impl_->sink->Tell());
  ARROW_RETURN_NOT_OK(impl_->sink->Close());
  return size;
}

namespace {

int CountLeaves(const parquet::schema::Node& node) {
  if (node.is_primitive()) return 1;
  const auto& g = static_cast<const parquet::schema::GroupNode&>(node);
  int n = 0;
  for (int i = 0; i < g.field_count(); ++i) n += CountLeaves(*g.field(i));
  return n;
}

}  // namespace

Result<std::vector<std::pair<std::shared_ptr<arrow::Scalar>, std::shared_ptr<arrow::Scalar>>>>
ParquetDataFileWriter::FooterMinMax() const {
  auto md = impl_->writer->metadata();
  if (!md) return Status::Invalid("FooterMinMax before Finish");
  const auto* root = md->schema()->group_node();
  std::vector<std::pair<std::shared_ptr<arrow::Scalar>, std::shared_ptr<arrow::Scalar>>> out;
  int leaf = 0;
  for (int f = 0; f < root->field_count() && f < static_cast<int>(fields_.size()); ++f) {
    const auto& node = *root->field(f);
    auto type = ToArrowType(*fields_[f].type);
    std::shared_ptr<arrow::Scalar> mn = arrow::MakeNullScalar(type), mx = arrow::MakeNullScalar(type);
    int leaves = CountLeaves(node);
    if (node.is_primitive()) {
      std::unique_ptr<arrow::ArrayBuilder> mins, maxs;
      ARROW_RETURN_NOT_OK(arrow::MakeBuilder(arrow::default_memory_pool(), type, &mins));
      ARROW_RETURN_NOT_OK(arrow::MakeBuilder(arrow::default_memory_pool(), type, &maxs));
      bool known = true;
      for (int rg = 0; rg < md->num_row_groups() && known; ++rg) {
        auto chunk = md->RowGroup(rg)->ColumnChunk(leaf);
        auto stats = chunk->statistics();
        if (!stats) {
          known = false;
          break;
        }
        if (!stats->HasMinMax()) {
          // A chunk of only nulls has no min/max; any other chunk without them is unknown.
          known = stats->HasNullCount() && stats->null_count() == chunk->num_values();
          continue;
        }
        std::shared_ptr<arrow::Scalar> a, b;
        if (!parquet::arrow::StatisticsAsScalars(*stats, &a, &b).ok()) {
          known = false;
          break;
        }
        auto ca = a->CastTo(type);
        auto cb = b->CastTo(type);
        if (!ca.ok() || !cb.ok()) {
          known = false;
          break;
        }
        ARROW_RETURN_NOT_OK(mins->AppendScalar(**ca));
        ARROW_RETURN_NOT_OK(maxs->AppendScalar(**cb));
      }
      if (known && mins->length() > 0) {
        ARROW_ASSIGN_OR_RAISE(auto amin, mins->Finish());
        ARROW_ASSIGN_OR_RAISE(auto amax, maxs->Finish());
        ARROW_ASSIGN_OR_RAISE(auto rmin, arrow::compute::MinMax(amin));
        ARROW_ASSIGN_OR_RAISE(auto rmax, arrow::compute::MinMax(amax));
        mn = rmin.scalar_as<arrow::StructScalar>().value[0];
        mx = rmax.scalar_as<arrow::StructScalar>().value[1];
      }
    }
    leaf += leaves;
    out.emplace_back(std::move(mn), std::move(mx));
  }
  return out;
}

std::string FormatFromFileName(const std::string& name) {
  for (const char* ext : {"parquet", "orc", "avro"}) {
    std::string suffix = std::string(".") + ext;
    if (name.size() > suffix.size() && name.ends_with(suffix)) return ext;
  }
  return "";
}

namespace {

// The ranges of row group `rg`'s top-level primitive columns, by name.
ColumnRangeLookup RowGroupRanges(const parquet::FileMetaData& md, const arrow::Schema& schema,
                                 const parquet::arrow::SchemaManifest& manifest, int rg) {
  return [&md, &schema, &manifest, rg](const std::string& column) -> std::optional<ColumnRange> {
    int i = schema.GetFieldIndex(column);
    if (i < 0) return std::nullopt;
    const auto& sf = manifest.schema_fields[i];
    if (!sf.children.empty() || sf.column_index < 0) return std::nullopt;
    auto group = md.RowGroup(rg);
    auto chunk = group->ColumnChunk(sf.column_index);
    auto stats = chunk->statistics();
    if (!stats) return std::nullopt;
    ColumnRange r;
    r.row_count = group->num_rows();
    if (stats->HasNullCount()) r.null_count = stats->null_count();
    if (stats->HasMinMax()) {
      std::shared_ptr<arrow::Scalar> a, b;
      if (!parquet::arrow::StatisticsAsScalars(*stats, &a, &b).ok()) return std::nullopt;
      const auto& type = schema.field(i)->type();
      auto ca = a->CastTo(type);
      auto cb = b->CastTo(type);
      if (!ca.ok() || !cb.ok()) return std::nullopt;
      r.min = *ca;
      r.max = *cb;
    } else if (!r.null_count || *r.null_count != chunk->num_values()) {
      return std::nullopt;  // min/max unknown, and not a chunk of only nulls
    }
    return r;
  };
}

}  // namespace

Result<std::vector<int>> ParquetLeafColumns(parquet::arrow::FileReader& reader,
                                            const std::vector<std::string>& columns) {
  std::vector<int> leaves;
  if (columns.empty()) {
    for (int i = 0; i < reader.parquet_reader()->metadata()->num_columns(); ++i) leaves.push_back(i);
    return leaves;
  }
  std::shared_ptr<arrow::Schema> schema;
  ARROW_RETURN_NOT_OK(reader.GetSchema(&schema));
  const auto& manifest = reader.manifest();
  std::function<void(const parquet::arrow::SchemaField&)> collect =
      [&](const parquet::arrow::SchemaField& sf) {
        if (sf.children.empty()) {
          leaves.push_back(sf.column_index);
        } else {
          for (const auto& ch : sf.children) collect(ch);
        }
      };
  for (const auto& c : columns) {
    int i = schema->GetFieldIndex(c);
    if (i >= 0) collect(manifest.schema_fields[i]);
  }
  return leaves;
}

namespace {

Result<FilteredRead> ReadParquet(std::shared_ptr<arrow::io::RandomAccessFile> in,
                                 const std::vector<std::string>& columns, bool int96_as_nanos,
                                 const RowGroupFilter& keep) {
  parquet::ArrowReaderProperties props;
  props.set_coerce_int96_timestamp_unit(int96_as_nanos ? arrow::TimeUnit::NANO
                                                       : arrow::TimeUnit::MICRO);
  // Columns decode in parallel; batches keep decode buffers small (no regrowth of one huge
  // string buffer per column, which dominated whole-file reads).
  props.set_use_threads(true);
  props.set_pre_buffer(true);
  props.set_batch_size(64 * 1024);
  parquet::arrow::FileReaderBuilder builder;
  ARROW_RETURN_NOT_OK(builder.Open(std::move(in)));
  builder.properties(props);
  std::unique_ptr<parquet::arrow::FileReader> reader;
  ARROW_ASSIGN_OR_RAISE(reader, builder.Build());
  FilteredRead out;
  const auto& md = *reader->parquet_reader()->metadata();
  out.file_rows = md.num_rows();
  std::shared_ptr<arrow::Schema> file_schema;
  ARROW_RETURN_NOT_OK(reader->GetSchema(&file_schema));
  std::vector<int> row_groups;
  int64_t first = 0;
  for (int i = 0; i < reader->num_row_groups(); ++i) {
    const int64_t n = md.RowGroup(i)->num_rows();
    if (!keep || keep(RowGroupRanges(md, *file_schema, reader->manifest(), i))) {
      row_groups.push_back(i);
      out.kept_ranges.emplace_back(first, n);
    } else {
      out.pruned = true;
    }
    first += n;
  }
  ARROW_ASSIGN_OR_RAISE(auto leaves, ParquetLeafColumns(*reader, columns));
  ARROW_ASSIGN_OR_RAISE(auto batches, reader->GetRecordBatchReader(row_groups, leaves));
  ARROW_ASSIGN_OR_RAISE(out.table, batches->ToTable());
  return out;
}

Result<std::shared_ptr<arrow::Table>> ReadOrc(std::shared_ptr<arrow::io::RandomAccessFile> in,
                                              const std::vector<std::string>& columns) {
  ARROW_ASSIGN_OR_RAISE(auto reader,
                        arrow::adapters::orc::ORCFileReader::Open(in, arrow::default_memory_pool()));
  if (columns.empty()) return reader->Read();
  ARROW_ASSIGN_OR_RAISE(auto schema, reader->ReadSchema());
  std::vector<std::string> present;
  for (const auto& c : columns) {
    if (schema->GetFieldIndex(c) >= 0) present.push_back(c);
  }
  return reader->Read(present);
}

}  // namespace

Result<std::shared_ptr<arrow::Table>> ReadDataFile(const fs::FileSystem& fs,
                                                   const std::string& path,
                                                   const std::string& format,
                                                   const std::vector<std::string>& columns,
                                                   bool int96_as_nanos) {
  ARROW_ASSIGN_OR_RAISE(auto read,
                        ReadDataFileFiltered(fs, path, format, columns, int96_as_nanos, {}));
  return read.table;
}

Result<FilteredRead> ReadDataFileFiltered(const fs::FileSystem& fs, const std::string& path,
                                          const std::string& format,
                                          const std::vector<std::string>& columns,
                                          bool int96_as_nanos, const RowGroupFilter& keep) {
  auto wrap = [&](const Status& st) {
    return Status::IOError("data file ", path, ": ", st.message());
  };
  auto in_r = fs.OpenInput(path);
  if (!in_r.ok()) return wrap(in_r.status());
  if (format == "parquet") {
    auto read = ReadParquet(*in_r, columns, int96_as_nanos, keep);
    if (!read.ok()) return wrap(read.status());
    return read;
  }
  Result<std::shared_ptr<arrow::Table>> out;
  if (format == "orc") {
    out = ReadOrc(*in_r, columns);
  } else if (format == "avro") {
    auto size = (*in_r)->GetSize();
    if (!size.ok()) return wrap(size.status());
    auto buf = (*in_r)->ReadAt(0, *size);
    if (!buf.ok()) return wrap(buf.status());
    out = ReadAvroDataFile(std::string_view(reinterpret_cast<const char*>((*buf)->data()),
                                            static_cast<size_t>((*buf)->size())),
                           path);
    if (out.ok() && !columns.empty()) {
      std::vector<int> idx;
      for (const auto& c : columns) {
        int i = (*out)->schema()->GetFieldIndex(c);
        if (i >= 0) idx.push_back(i);
      }
      out = (*out)->SelectColumns(idx);
    }
  } else {
    return Status::NotImplemented("data file ", path, ": unknown file format '", format, "'");
  }
  if (!out.ok()) return wrap(out.status());
  FilteredRead read;
  read.table = *out;
  read.file_rows = read.table->num_rows();
  read.kept_ranges.emplace_back(0, read.file_rows);
  return read;
}

}  // namespace millpond::paimon
