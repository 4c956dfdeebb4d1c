// Reading a column written under an older schema as its current type, with Paimon's cast rules
// (CastExecutors): widening, STRING -> BOOLEAN/number/date/timestamp, TIMESTAMP -> INT (epoch
// seconds) / DATE / STRING (DateTimeUtils.formatTimestamp), INT -> TIMESTAMP (epoch seconds),
// DATE -> TIMESTAMP and TIMESTAMP <-> TIMESTAMP WITH LOCAL TIME ZONE. Thread-safe.
#pragma once

#include <memory>

#include <arrow/type_fwd.h>

#include "millpond/common/status.h"
#include "millpond/paimon/types.h"

namespace millpond::table {

Result<std::shared_ptr<arrow::ChunkedArray>> CastForEvolution(
    const std::shared_ptr<arrow::ChunkedArray>& values, const paimon::DataType& from,
    const paimon::DataType& to);

}  // namespace millpond::table
