# cmake -DLEVEL=avx2 -DNM=nm -DOBJCOPY=objcopy -DOBJECTS="a.o|b.o" -DOUT_DIR=dir -P isa_rename.cmake
#
# Copies one ISA level's object files to OUT_DIR with every weak function symbol they define
# renamed to <name>.rnnkit_<LEVEL>, in definitions and references alike (objcopy
# --redefine-syms), then checks the copies. Why (cpp/src/cpu/isa.h): the inline functions and
# templates of Eigen, the standard library and our shared headers are emitted as weak symbols in
# every object that uses them, compiled with that object's flags; the linker would keep one copy
# for the whole program, possibly an AVX-512 one that the baseline code then calls. Renamed, the
# copies of one level are shared only within that level. Weak data (static locals of inline
# functions, typeinfo, vtables) keeps its name: data has no ISA, and it must stay one object.
cmake_minimum_required(VERSION 3.18)
foreach(_var LEVEL NM OBJCOPY OBJECTS OUT_DIR)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "isa_rename.cmake: ${_var} is not set")
  endif()
endforeach()
string(REPLACE "|" ";" _objects "${OBJECTS}")
set(_suffix ".rnnkit_${LEVEL}")
file(MAKE_DIRECTORY "${OUT_DIR}")

# Defined symbols as "name type": nm's POSIX format, one per line.
function(_defined_symbols object out)
  execute_process(COMMAND "${NM}" --defined-only -P "${object}"
                  OUTPUT_VARIABLE _text RESULT_VARIABLE _rc ERROR_VARIABLE _err)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "isa_rename.cmake: ${NM} ${object} failed: ${_err}")
  endif()
  string(REPLACE "\n" ";" _lines "${_text}")
  set(${out} "${_lines}" PARENT_SCOPE)
endfunction()

set(_weak "")
foreach(_object IN LISTS _objects)
  _defined_symbols("${_object}" _lines)
  foreach(_line IN LISTS _lines)
    if(_line MATCHES "^([^ ]+) W ")
      list(APPEND _weak "${CMAKE_MATCH_1}")
    endif()
  endforeach()
endforeach()
list(REMOVE_DUPLICATES _weak)
set(_map "")
foreach(_name IN LISTS _weak)
  string(APPEND _map "${_name} ${_name}${_suffix}\n")
endforeach()
set(_map_file "${OUT_DIR}/renamed-symbols.txt")
file(WRITE "${_map_file}" "${_map}")

# The level's own code lives in rnnkit::cpu::<LEVEL> (mangled _ZN6rnnkit3cpu<len><LEVEL>... or
# _ZNK... for const members).
string(LENGTH "${LEVEL}" _length)
set(_own "^_ZNK?6rnnkit3cpu${_length}${LEVEL}")
foreach(_object IN LISTS _objects)
  get_filename_component(_name "${_object}" NAME)
  set(_out "${OUT_DIR}/${_name}")
  execute_process(COMMAND "${OBJCOPY}" "--redefine-syms=${_map_file}" "${_object}" "${_out}"
                  RESULT_VARIABLE _rc ERROR_VARIABLE _err)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "isa_rename.cmake: ${OBJCOPY} ${_object} failed: ${_err}")
  endif()
  # Check: every global function the copy defines is either the level's own (its namespace) or
  # renamed; a plain global function of another namespace would be shared with other levels.
  _defined_symbols("${_out}" _lines)
  foreach(_line IN LISTS _lines)
    if(_line MATCHES "^([^ ]+) [TW] ")
      set(_symbol "${CMAKE_MATCH_1}")
      if(NOT _symbol MATCHES "${_own}" AND NOT _symbol MATCHES "\\.rnnkit_${LEVEL}$")
        message(FATAL_ERROR "isa_rename.cmake: ${_name} (ISA level ${LEVEL}) defines the global "
                            "function ${_symbol} outside rnnkit::cpu::${LEVEL}: the other levels "
                            "and the baseline code could call this copy. Put it in the level's "
                            "namespace (RNNKIT_CPU_NAMESPACE_BEGIN) or make it internal.")
      endif()
    endif()
  endforeach()
endforeach()
