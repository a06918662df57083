// The one error type of TransportLab's core: a one-line, user-facing message.
// Thrown on bad input (files, SPEC strings, parameters); the CLI prints it, the GUI shows it.
#pragma once
#include <stdexcept>
#include <string>

namespace tl {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace tl
