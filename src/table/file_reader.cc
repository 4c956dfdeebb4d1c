// ReadMappedFile: one data file as rows of the current schema.
#include "file_reader.h"

#include <arrow/array.h>
#include <arrow/chunked_array.h>
#include <arrow/compute/cast.h>
#include <arrow/record_batch.h>
#include <arrow/table.h>

#include "evolution_cast.h"
#include "millpond/paimon/data_file.h"
#include "millpond/table/manifest_io.h"

namespace millpond::table {

Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> ReadMappedFile(
    const fs::FileSystem& fs, const std::string& table_path, const paimon::TableSchema& schema,
    const paimon::TableSchema& file_schema_ref, const std::vector<int>& read_fields,
    const BoundPredicate* predicate, const paimon::ManifestEntry& e) {
  const paimon::TableSchema* file_schema = &file_schema_ref;
  ARROW_ASSIGN_OR_RAISE(std::string path, DataFilePath(schema, table_path, e));
  std::string format = paimon::FormatFromFileName(e.file.file_name);
  if (format.empty()) format = file_schema->Option("file.format", "parquet");
  // The file's column for each field we read, found by field id.
  std::vector<std::string> file_columns;
  std::vector<const paimon::DataField*> file_fields;
  for (int i : read_fields) {
    int fi = file_schema->FieldIndexById(schema.fields[i].id);
    file_fields.push_back(fi >= 0 ? &file_schema->fields[fi] : nullptr);
    if (fi >= 0) file_columns.push_back(file_schema->fields[fi].name);
  }
  std::shared_ptr<arrow::Table> table;
  if (!file_columns.empty()) {
    // INT96 timestamps decode to one unit per read: nanosecond columns are read as nanos, the
    // others as micros (so years outside 1677..2262 stay in range), in two reads if needed.
    std::vector<std::string> nano_columns, other_columns;
    for (const auto* f : file_fields) {
      if (!f) continue;
      bool nanos = (f->type->root == paimon::TypeRoot::kTimestamp ||
                    f->type->root == paimon::TypeRoot::kLocalZonedTimestamp) &&
                   f->type->precision > 6;
      (nanos ? nano_columns : other_columns).push_back(f->name);
    }
    if (format != "parquet" || nano_columns.empty() || other_columns.empty()) {
      ARROW_ASSIGN_OR_RAISE(table, paimon::ReadDataFile(fs, path, format, file_columns,
                                                        /*int96_as_nanos=*/!nano_columns.empty()));
    } else {
      ARROW_ASSIGN_OR_RAISE(auto a, paimon::ReadDataFile(fs, path, format, other_columns,
                                                         /*int96_as_nanos=*/false));
      ARROW_ASSIGN_OR_RAISE(auto b, paimon::ReadDataFile(fs, path, format, nano_columns,
                                                         /*int96_as_nanos=*/true));
      if (a->num_rows() != b->num_rows()) {
        return Status::IOError("data file ", path, ": columns disagree on the row count");
      }
      arrow::FieldVector fields = a->schema()->fields();
      arrow::ChunkedArrayVector cols = a->columns();
      for (int i = 0; i < b->num_columns(); ++i) {
        fields.push_back(b->schema()->field(i));
        cols.push_back(b->column(i));
      }
      table = arrow::Table::Make(arrow::schema(fields), cols, a->num_rows());
    }
    if (table->num_rows() != e.file.row_count) {
      return Status::IOError("data file ", path, " has ", table->num_rows(),
                             " rows but the manifest says ", e.file.row_count);
    }
  }
  // Otherwise no column of this file is read (e.g. only newly added columns): rows still count.
  int64_t rows = e.file.row_count;
  arrow::ChunkedArrayVector columns;
  arrow::FieldVector fields;
  auto full = paimon::ToArrowSchema(schema.fields);
  for (size_t k = 0; k < read_fields.size(); ++k) {
    const auto& target_field = full->field(read_fields[k]);
    std::shared_ptr<arrow::ChunkedArray> col;
    if (file_fields[k] && table) col = table->GetColumnByName(file_fields[k]->name);
    if (!col) {
      ARROW_ASSIGN_OR_RAISE(auto nulls, arrow::MakeArrayOfNull(target_field->type(), rows));
      col = std::make_shared<arrow::ChunkedArray>(nulls);
    } else if (file_fields[k]->type->ToString() !=
                   schema.fields[read_fields[k]].type->ToString()) {
      // Written under an older schema with another type: Paimon's cast rules.
      auto cast = CastForEvolution(col, *file_fields[k]->type, *schema.fields[read_fields[k]].type);
      if (!cast.ok()) {
        return Status::IOError("data file ", path, ": column ", file_fields[k]->name,
                               " cannot be read as ", target_field->type()->ToString(), ": ",
                               cast.status().message());
      }
      col = *cast;
    } else if (!col->type()->Equals(*target_field->type())) {
      // Same Paimon type, other physical Arrow type (e.g. INT96 nanos for a TIMESTAMP(3) column,
      // int32 from Avro for TINYINT).
      auto cast = arrow::compute::Cast(col, target_field->type(), arrow::compute::CastOptions::Unsafe());
      if (!cast.ok()) {
        return Status::IOError("data file ", path, ": column ", file_fields[k]->name,
                               " cannot be read as ", target_field->type()->ToString(), ": ",
                               cast.status().message());
      }
      col = cast->chunked_array();
    }
    columns.push_back(col);
    fields.push_back(target_field->WithNullable(true));
  }
  auto mapped = arrow::Table::Make(arrow::schema(fields), columns, rows);
  return FilteredBatches(*mapped, /*chunk_rows=*/1 << 20, predicate);
}

Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> FilteredBatches(
    const arrow::Table& table, int64_t chunk_rows, const BoundPredicate* predicate) {
  std::vector<std::shared_ptr<arrow::RecordBatch>> out;
  arrow::TableBatchReader reader(table);
  reader.set_chunksize(chunk_rows);
  while (true) {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(reader.ReadNext(&batch));
    if (!batch) break;
    if (predicate) {
      ARROW_ASSIGN_OR_RAISE(batch, Filter(*predicate, batch));
    }
    if (batch->num_rows() > 0) out.push_back(std::move(batch));
  }
  return out;
}

}  // namespace millpond::table
