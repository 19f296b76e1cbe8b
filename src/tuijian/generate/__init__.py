"""tuijian.generate"""
