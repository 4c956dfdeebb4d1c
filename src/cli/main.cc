// millpond command line entry point.
#include <arrow/compute/initialize.h>
#include <iostream>
int main(int argc, char** argv) {
  (void)arrow::compute::Initialize();
  std::cout << "millpond\n";
  return 0;
}
