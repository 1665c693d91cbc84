"""Static analysis of pickle streams: decode opcodes, interpret them symbolically, judge the calls."""
