// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/json.h"

#include <gtest/gtest.h>

namespace hd {
TEST(JsonWriter, NestedCompact) {
  JsonWriter w;
  w.begin_object();
  w.field("a", 1).field("s", "x\"y\n");
  w.key("arr").begin_array().value(true).null().value(2.5).end_array();
  w.key("o").begin_object().end_object();
  w.end_object();
  EXPECT_EQ(w.str(), R"({"a":1,"s":"x\"y\n","arr":[true,null,2.5],"o":{}})");
}
TEST(JsonWriter, ControlCharactersEscaped) {
  EXPECT_EQ(JsonWriter::escape(std::string("\x01", 1)), "\"\\u0001\"");
}
}  // namespace hd
