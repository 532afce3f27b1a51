// Address::parse on any text: it accepts or throws std::invalid_argument, never
// anything else, and what it accepts prints (to_string) as text that parses
// back to the same address.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include <green/address.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    green::Address a;
    try {
        a = green::Address::parse(text);
    } catch (const std::invalid_argument&) {
        return 0;
    }
    const std::string printed = a.to_string();
    const green::Address again = green::Address::parse(printed);  // throws (a crash) if it does not parse
    if (!(again == a) || again.to_string() != printed) std::abort();
    (void)a.host();
    (void)a.port();
    return 0;
}
