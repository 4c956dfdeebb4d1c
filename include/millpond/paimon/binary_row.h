// Paimon's BinaryRow: the fixed-width row encoding used for partition values, bucket keys, primary
// keys and min/max statistics in manifests, and its serialized form (4-byte big-endian arity
// followed by the row bytes, as SerializationUtils.serializeBinaryRow writes). Also the bucket hash.
// Mirrors org.apache.paimon.data.BinaryRow / BinaryRowWriter. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/type_fwd.h>

#include "millpond/common/status.h"
#include "millpond/paimon/types.h"

namespace millpond::paimon {

/// Serializes values (one Arrow scalar per field, matching `types`; a null or invalid scalar is
/// a null field) into Paimon's serialized BinaryRow bytes (arity prefix included).
Result<std::string> SerializeBinaryRow(const std::vector<std::shared_ptr<arrow::Scalar>>& values,
                                       const std::vector<DataTypePtr>& types);

/// Decodes serialized BinaryRow bytes into one Arrow scalar per field (typed by ToArrowType).
/// The arity in the bytes may be smaller than `types` (trailing fields are then null).
Result<std::vector<std::shared_ptr<arrow::Scalar>>> DeserializeBinaryRow(
    std::string_view bytes, const std::vector<DataTypePtr>& types);

/// Serialized BinaryRow of arity 0 (what Paimon writes for "no partition" / "no key").
std::string EmptySerializedBinaryRow();

/// Paimon's hash of a BinaryRow (MurmurHash3 over the row bytes without the arity prefix, as
/// BinaryRow.hashCode()), and the bucket it selects: abs(hash % num_buckets).
int32_t BinaryRowHash(std::string_view serialized_row);
int32_t BucketOf(std::string_view serialized_bucket_key_row, int32_t num_buckets);

/// Computes the bucket of every row in `batch` for the given bucket-key columns (indices into the
/// batch, types their Paimon types), the way Paimon's FixedBucketRowKeyExtractor does.
Result<std::vector<int32_t>> ComputeBuckets(const arrow::RecordBatch& batch,
                                            const std::vector<int>& key_columns,
                                            const std::vector<DataTypePtr>& key_types,
                                            int32_t num_buckets);

}  // namespace millpond::paimon
