#include <iostream>

#include "cli/cli.h"
#include "image_reader_qt.h"

int main(int argc, char** argv) {
    tl::installQtImageReaders();
    std::vector<std::string> args(argv + 1, argv + argc);
    return tl::cli::runCli(args, std::cout, std::cerr);
}
