# CTest: every `posefer ...` command in README.md's code blocks runs as written, up to the work
# it would do: the subcommand exists, its values parse (the command with --help appended exits 0,
# or fails only because an example input such as photo.jpg is absent) and each --flag it gives is
# one that subcommand's --help lists.
# Usage: cmake -DPOSEFER=<binary> -DREADME=<README.md> -P readme_commands.cmake
file(STRINGS "${README}" lines)
set(count 0)
foreach(line IN LISTS lines)
  # Indented code lines (4 spaces) that call the posefer binary.
  if(NOT line MATCHES "^    (.*&& *)?build/posefer (.*)$")
    continue()
  endif()
  set(args "${CMAKE_MATCH_2}")
  separate_arguments(argv UNIX_COMMAND "${args}")
  # Example inputs the user brings (photo.jpg) do not exist here: that one error is accepted.
  execute_process(COMMAND ${POSEFER} ${argv} --help RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 AND NOT err MATCHES "(File|Directory|Path) does not exist")
    message(FATAL_ERROR "README command does not parse: posefer ${args}\n${err}")
  endif()
  list(GET argv 0 subcommand)
  execute_process(COMMAND ${POSEFER} ${subcommand} --help RESULT_VARIABLE rc OUTPUT_VARIABLE help)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "README command: posefer ${subcommand} --help failed")
  endif()
  foreach(token IN LISTS argv)
    if(token MATCHES "^(--[a-z0-9-]+)")
      string(FIND "${help}" "${CMAKE_MATCH_1}" at)
      if(at EQUAL -1)
        message(FATAL_ERROR "README command uses ${CMAKE_MATCH_1}, which `posefer ${subcommand} --help` does not list:\n  posefer ${args}")
      endif()
    endif()
  endforeach()
  math(EXPR count "${count} + 1")
endforeach()
if(count LESS 5)
  message(FATAL_ERROR "README.md: found only ${count} posefer commands in code blocks (expected the quick start's and more)")
endif()
message(STATUS "README.md: ${count} posefer commands parse and use only listed flags")
