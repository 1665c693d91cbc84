"""Static analysis of pickle streams: decode, interpret symbolically, judge the calls."""
