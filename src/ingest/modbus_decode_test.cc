// Modbus register decoding (every type, byte and word order, scale/offset) and read planning.
#include "millpond/ingest/modbus_decode.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "millpond/ingest/modbus_config.h"

namespace millpond::ingest::modbus {
namespace {

RegisterFormat Fmt(DataType t, const char* order = "ABCD") {
  RegisterFormat f;
  f.type = t;
  EXPECT_TRUE(ParseByteOrder(order, &f).ok());
  return f;
}

Value Decode(std::vector<uint16_t> regs, const RegisterFormat& f) {
  auto v = DecodeRegisters(regs.data(), f);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? *v : Value();
}

TEST(ModbusDecode, SixteenBit) {
  EXPECT_EQ(Decode({0xFB2E}, Fmt(DataType::kInt16)), Value(int64_t{-1234}));
  EXPECT_EQ(Decode({0xFDE8}, Fmt(DataType::kUint16)), Value(int64_t{65000}));
  EXPECT_EQ(Decode({0x8000}, Fmt(DataType::kInt16)), Value(int64_t{-32768}));
  // Byte swap inside the register: -2 is 0xFFFE, sent as FE FF.
  EXPECT_EQ(Decode({0xFEFF}, Fmt(DataType::kInt16, "BADC")), Value(int64_t{-2}));
  EXPECT_EQ(Decode({0x0100}, Fmt(DataType::kUint16, "BADC")), Value(int64_t{1}));
  EXPECT_EQ(Decode({0x0000}, Fmt(DataType::kBool)), Value(false));
  EXPECT_EQ(Decode({0x0100}, Fmt(DataType::kBool)), Value(true));
}

TEST(ModbusDecode, ThirtyTwoBitInEveryOrder) {
  // -123456789 = 0xF8A432EB: bytes A=F8 B=A4 C=32 D=EB.
  const Value want(int64_t{-123456789});
  EXPECT_EQ(Decode({0xF8A4, 0x32EB}, Fmt(DataType::kInt32, "ABCD")), want);
  EXPECT_EQ(Decode({0x32EB, 0xF8A4}, Fmt(DataType::kInt32, "CDAB")), want);
  EXPECT_EQ(Decode({0xA4F8, 0xEB32}, Fmt(DataType::kInt32, "BADC")), want);
  EXPECT_EQ(Decode({0xEB32, 0xA4F8}, Fmt(DataType::kInt32, "DCBA")), want);
  EXPECT_EQ(Decode({0xEE6B, 0x2800}, Fmt(DataType::kUint32)), Value(int64_t{4000000000}));
  // -3.5f = 0xC0600000.
  EXPECT_EQ(Decode({0xC060, 0x0000}, Fmt(DataType::kFloat32)), Value(-3.5));
  EXPECT_EQ(Decode({0x0000, 0xC060}, Fmt(DataType::kFloat32, "CDAB")), Value(-3.5));
  EXPECT_EQ(Decode({0x0000, 0x60C0}, Fmt(DataType::kFloat32, "DCBA")), Value(-3.5));
  EXPECT_EQ(Decode({0x60C0, 0x0000}, Fmt(DataType::kFloat32, "BADC")), Value(-3.5));
}

TEST(ModbusDecode, SixtyFourBit) {
  // -9007199254740993 = 0xFFDFFFFFFFFFFFFF (not a double: exact only as an integer).
  const Value want(int64_t{-9007199254740993});
  EXPECT_EQ(Decode({0xFFDF, 0xFFFF, 0xFFFF, 0xFFFF}, Fmt(DataType::kInt64)), want);
  EXPECT_EQ(Decode({0xFFFF, 0xFFFF, 0xFFFF, 0xDFFF}, Fmt(DataType::kInt64, "DCBA")), want);
  EXPECT_EQ(Decode({0xFFFF, 0xFFFF, 0xFFFF, 0xFFDF}, Fmt(DataType::kInt64, "CDAB")), want);
  EXPECT_EQ(Decode({0x7FFF, 0xFFFF, 0xFFFF, 0xFFFF}, Fmt(DataType::kUint64)),
            Value(int64_t{INT64_MAX}));
  std::vector<uint16_t> big = {0x8000, 0, 0, 0};
  auto v = DecodeRegisters(big.data(), Fmt(DataType::kUint64));
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("does not fit"), std::string::npos);
  // -2.718281828459045 = 0xC005BF0A8B145769.
  EXPECT_EQ(Decode({0xC005, 0xBF0A, 0x8B14, 0x5769}, Fmt(DataType::kFloat64)),
            Value(-2.718281828459045));
  EXPECT_EQ(Decode({0x5769, 0x8B14, 0xBF0A, 0xC005}, Fmt(DataType::kFloat64, "CDAB")),
            Value(-2.718281828459045));
  EXPECT_EQ(Decode({0x6957, 0x148B, 0x0ABF, 0x05C0}, Fmt(DataType::kFloat64, "DCBA")),
            Value(-2.718281828459045));
}

TEST(ModbusDecode, ScaleAndOffset) {
  RegisterFormat f = Fmt(DataType::kInt16);
  f.scale = 0.5;
  f.offset = 40;
  EXPECT_EQ(Decode({0xFFCD}, f), Value(14.5));  // -51 * 0.5 + 40
  RegisterFormat u = Fmt(DataType::kUint64);
  u.scale = 2;
  EXPECT_EQ(Decode({0x8000, 0, 0, 0}, u), Value(std::ldexp(1.0, 64)));
}

TEST(ModbusDecode, EncodeIsTheInverse) {
  for (const char* order : {"ABCD", "CDAB", "BADC", "DCBA"}) {
    for (auto [type, value] : {std::pair{DataType::kInt32, Value(int64_t{-5})},
                               std::pair{DataType::kUint16, Value(int64_t{40000})},
                               std::pair{DataType::kInt64, Value(int64_t{-1234567890123})},
                               std::pair{DataType::kFloat32, Value(0.15625)},
                               std::pair{DataType::kFloat64, Value(-1e-300)}}) {
      RegisterFormat f = Fmt(type, order);
      uint16_t regs[4] = {};
      EncodeRegisters(value, f, regs);
      EXPECT_EQ(*DecodeRegisters(regs, f), value) << order << " " << DataTypeName(type);
    }
  }
}

TEST(ModbusDecode, Names) {
  EXPECT_FALSE(ParseDataType("int24").ok());
  EXPECT_FALSE(ParseArea("register").ok());
  RegisterFormat f;
  EXPECT_FALSE(ParseByteOrder("ABDC", &f).ok());
  EXPECT_EQ(*ParseDataType("double"), DataType::kFloat64);
  EXPECT_EQ(RegisterCount(DataType::kFloat32), 2);
}

TEST(ModbusConfig, PlansContiguousReads) {
  auto c = Config::FromYaml(R"(
table: t.x
tags:
  - {name: a, address: 0, type: int32}
  - {name: b, address: 2}
  - {name: c, address: 10, type: float64}
  - {name: d, area: coil, address: 3}
  - {name: e, area: coil, address: 4}
  - {name: f, area: input, address: 0}
)",
                            "map");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->AddDevice("127.0.0.1:5020", 1).ok());
  ASSERT_TRUE(c->Plan().ok());
  const Device& d = c->devices[0];
  ASSERT_EQ(d.blocks.size(), 4u);  // holding 0+3, holding 10+4, input 0+1, coils 3+2
  EXPECT_EQ(d.blocks[0].address, 0);
  EXPECT_EQ(d.blocks[0].count, 3);
  EXPECT_EQ(d.blocks[1].count, 4);
  EXPECT_EQ(d.tags[1].block, 0);
  EXPECT_EQ(d.tags[1].offset, 2);
  EXPECT_EQ(d.tags[4].block, 3);
  EXPECT_EQ(d.tags[4].offset, 1);
  EXPECT_EQ(d.payload_bytes, 2u * (3 + 4 + 1) + 2);
  // With max_gap the two holding reads merge.
  c->max_gap = 8;
  ASSERT_TRUE(c->Plan().ok());
  EXPECT_EQ(c->devices[0].blocks.size(), 3u);
  EXPECT_EQ(c->devices[0].blocks[0].count, 14);
}

TEST(ModbusConfig, ErrorsNameTheKey) {
  auto c = Config::FromYaml("tags:\n  - {name: a, address: 0, type: float32, order: XYZW}\n",
                            "m.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("m.yaml: tags[0].order"), std::string::npos)
      << c.status().message();
}

}  // namespace
}  // namespace millpond::ingest::modbus
