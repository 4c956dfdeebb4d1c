# Imported targets for the Arrow C++ libraries bundled in the pyarrow wheel of .venv.
# The wheel ships headers and versioned shared libraries but no CMake config or .pc files.
set(MILLPOND_PYTHON "${CMAKE_SOURCE_DIR}/.venv/bin/python" CACHE FILEPATH "Python with pyarrow")
execute_process(
  COMMAND "${MILLPOND_PYTHON}" -c "import pyarrow, sys; sys.stdout.write(pyarrow.get_include() + ';' + pyarrow.get_library_dirs()[0])"
  OUTPUT_VARIABLE _pa_out RESULT_VARIABLE _pa_rc)
if(NOT _pa_rc EQUAL 0)
  message(FATAL_ERROR "pyarrow not importable with ${MILLPOND_PYTHON}; run `make setup`")
endif()
list(GET _pa_out 0 ARROW_INCLUDE_DIR)
list(GET _pa_out 1 ARROW_LIB_DIR)
message(STATUS "Arrow C++ from pyarrow: ${ARROW_LIB_DIR}")

foreach(_lib arrow parquet arrow_dataset arrow_acero arrow_compute arrow_flight arrow_substrait
    arrow_s3)
  file(GLOB _cand "${ARROW_LIB_DIR}/lib${_lib}.so.[0-9]*")
  if(_cand)
    list(SORT _cand)
    list(GET _cand 0 _so)
    add_library(Arrow::${_lib} SHARED IMPORTED GLOBAL)
    set_target_properties(Arrow::${_lib} PROPERTIES
      IMPORTED_LOCATION "${_so}"
      INTERFACE_INCLUDE_DIRECTORIES "${ARROW_INCLUDE_DIR}"
      INTERFACE_COMPILE_DEFINITIONS "_GLIBCXX_USE_CXX11_ABI=1")
    set(MILLPOND_HAVE_${_lib} ON)
  endif()
endforeach()
if(NOT TARGET Arrow::arrow OR NOT TARGET Arrow::parquet)
  message(FATAL_ERROR "libarrow/libparquet not found in ${ARROW_LIB_DIR}")
endif()
target_link_libraries(Arrow::parquet INTERFACE Arrow::arrow)
foreach(_lib arrow_compute arrow_acero arrow_dataset arrow_s3)
  if(TARGET Arrow::${_lib})
    target_link_libraries(Arrow::${_lib} INTERFACE Arrow::arrow)
  endif()
endforeach()
set(CMAKE_BUILD_RPATH "${ARROW_LIB_DIR}")
