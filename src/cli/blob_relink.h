// Shared by `tier apply`, `gc` and `blob relink`: re-point Paimon blob descriptors of every table
// at the packs the store keeps the blobs in now (millpond/blob/descriptor_refresh.h).
#pragma once

#include <iostream>
#include <string>

#include "millpond/blob/descriptor_refresh.h"
#include "millpond/table/catalog.h"

namespace millpond::cli {

inline Status RelinkDescriptors(const std::string& warehouse) {
  ARROW_ASSIGN_OR_RAISE(auto catalog, table::Catalog::Open(warehouse, /*create_if_missing=*/false));
  ARROW_ASSIGN_OR_RAISE(auto r, blob::RefreshDescriptors(*catalog));
  std::cout << "relinked " << r.rows_changed << " blob descriptors in " << r.committed.size()
            << " of " << r.tables << " tables with store-backed BLOB columns";
  for (const auto& c : r.committed) std::cout << (&c == &r.committed.front() ? ": " : ", ") << c;
  std::cout << "\n";
  return Status::OK();
}

}  // namespace millpond::cli
