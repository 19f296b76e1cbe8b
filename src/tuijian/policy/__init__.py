"""tuijian.policy"""
