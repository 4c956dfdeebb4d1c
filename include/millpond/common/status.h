// Error vocabulary for millpond: Arrow's Status and Result, under our own names.
// A message says what failed and where (path, table, field). Thread-safe as Arrow's types are.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

namespace millpond {

using Status = arrow::Status;
template <typename T>
using Result = arrow::Result<T>;

}  // namespace millpond

#define MP_RETURN_NOT_OK(expr) ARROW_RETURN_NOT_OK(expr)
#define MP_ASSIGN_OR_RAISE(lhs, rexpr) ARROW_ASSIGN_OR_RAISE(lhs, rexpr)
